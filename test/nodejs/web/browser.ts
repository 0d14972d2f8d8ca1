// Browser end-to-end tests: the API with the built dashboards on a real port (over the shared
// in-process chain, like every API test), and headless Chromium (Debian's, driven by
// playwright-core). The development wallet signs in the page; its prompts are native dialogs,
// accepted unless a test says to reject the next one.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startStack, type BackendName, type Stack } from "../api/harness.ts";

/** Where each run's screenshots go (one per dashboard). */
export const SCREENSHOTS = join(process.cwd(), "test-results", "screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** A phone's viewport, for the narrow-screen checks. */
export const PHONE = { width: 390, height: 844 } as const;

export interface WebStack extends Stack {
  /** The dashboards' origin, e.g. http://127.0.0.1:41234 */
  readonly url: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The API with the built dashboards listening on 127.0.0.1 (PUBLIC_URL set to it, so SIWE messages
 * name the page's origin). Needs `npm run build:web` first, as `npm test` does. Close it at the end.
 */
export async function startWebStack(
  backend: BackendName = "embedded",
  env: Record<string, string> = {},
  options: Parameters<typeof startStack>[2] = {},
): Promise<WebStack> {
  const dist = join(process.cwd(), "dist", "web", "index.html");
  if (!existsSync(dist)) throw new Error(`the dashboards are not built (${dist} is missing): run npm run build:web`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stack = await startStack(backend, { PUBLIC_URL: url, ...env }, options);
  try {
    await stack.api.listen({ host: "127.0.0.1", port });
  } catch (error) {
    await stack.close();
    throw error;
  }
  return { ...stack, url };
}

/** Headless Chromium; throws with the install command when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

export interface DashboardPage {
  readonly page: Page;
  /** The messages of the development wallet's prompts so far. */
  readonly prompts: string[];
  /** Makes the wallet's next prompt a rejection (the person clicks Cancel). */
  rejectNextPrompt(): void;
  /** Errors the page threw or logged: a test asserts there were none. */
  readonly pageErrors: string[];
}

/**
 * Opens `path` with the development wallet `wallet` ("Demo user", "Spare 1"…) connected (through the
 * header's wallet modal) and, unless
 * `signIn` is false, signed in. `viewport` defaults to a laptop's.
 */
export async function openDashboard(
  browser: Browser,
  web: WebStack,
  path: string,
  options: { readonly wallet: string; readonly signIn?: boolean; readonly viewport?: { width: number; height: number } },
): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
  const page = await context.newPage();
  const prompts: string[] = [];
  const pageErrors: string[] = [];
  let reject = false;
  page.on("dialog", async (dialog) => {
    prompts.push(dialog.message());
    if (reject) {
      reject = false;
      await dialog.dismiss();
    } else {
      await dialog.accept();
    }
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${web.url}${path}`);
  await page.getByRole("banner").getByRole("button", { name: "Connect wallet" }).click();
  const modal = page.getByRole("dialog", { name: "Connect a wallet" });
  await modal.getByRole("button", { name: `Development wallet: ${options.wallet}` }).click();
  await modal.waitFor({ state: "detached" }); // the modal closes once connected
  if (options.signIn !== false) {
    await page.getByRole("banner").getByRole("button", { name: "Sign in" }).click();
    await page.getByText("signed in").waitFor();
  }
  return { page, prompts, pageErrors, rejectNextPrompt: () => void (reject = true) };
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Whether the page scrolls sideways (it must not at phone width), measured two frames on, once the
 * charts' resize observers have fitted them to a viewport just changed.
 */
export const scrollsSideways = (page: Page): Promise<boolean> =>
  page.evaluate(async () => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;
  });

/** The elements reaching past the viewport's right edge (tag.class "text…"), for the message of a failed width check. */
export const overflowing = (page: Page): Promise<string[]> =>
  page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > width + 1 && [...el.children].every((child) => child.getBoundingClientRect().right <= width + 1))
      .slice(0, 10)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} "${(el.textContent ?? "").slice(0, 40)}"`);
  });
