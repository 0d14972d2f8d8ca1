// `npm start`: the whole stack on embedded defaults (src/devstack/stack.ts), configured by the
// environment. Ctrl-C (or SIGTERM) stops it cleanly; a second Ctrl-C forces the exit.
import { describeStack, startLocalStack, startupReason, type LocalStack } from "../src/devstack/stack.ts";

let stopping: string | undefined;
let stack: LocalStack | undefined;

function stop(signal: NodeJS.Signals): void {
  if (stopping !== undefined) {
    console.error(`${signal} again: exiting without a clean stop`);
    process.exit(130);
  }
  stopping = signal;
  console.log(`\n${signal}: stopping…`);
  // A signal during startup stops the stack once it is up (or failed).
  if (stack !== undefined) shutDown(stack);
}

function shutDown(running: LocalStack): void {
  running.close().then(
    () => {
      console.log("stopped");
      process.exit(0);
    },
    (error: unknown) => {
      console.error(`stopping failed: ${startupReason(error)}`);
      process.exit(1);
    },
  );
}

process.on("SIGINT", stop);
process.on("SIGTERM", stop);

try {
  stack = await startLocalStack({ log: (line) => console.log(line) });
} catch (error) {
  console.error(`npm start failed: ${startupReason(error)}`);
  process.exit(1);
}
if (stopping !== undefined) shutDown(stack);
else for (const line of describeStack(stack)) console.log(line);
