// The HTTP API: versioned JSON under /api/v1, every input validated against its schema, the
// OpenAPI document at /api/docs/json and its docs page at /api/docs. Routes live one domain per
// module in ./routes and call the domain services; this module only assembles them.
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { AppError } from "../errors.ts";
import { componentLogger } from "../monitoring/log.ts";
import type { AppContext } from "../app/context.ts";
import { ErrorBody } from "./schemas.ts";
import { capConnections, clientErrorHandler, frameworkCode, frameworkErrors, httpOptions, inputGuard } from "./hardening.ts";
import { limitApiKeyFailures, registerRateLimit } from "./rate-limit.ts";
import { ROUTES, type RouteModule } from "./routes/index.ts";
import { webPage } from "./routes/web.ts";

/** The Fastify instance routes register on, typed by their TypeBox schemas. */
export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ServerOptions {
  /** Log each request; otherwise only failures (5xx) are logged, to stderr. */
  readonly logRequests?: boolean;
  /** No log at all (tests and benchmarks that check failures themselves). */
  readonly silent?: boolean;
  /** Route modules besides the API's own (the benchmark's ungated baseline). */
  readonly extraRoutes?: readonly RouteModule[];
}

/** The error body for anything thrown by a route: AppErrors as they are, schema failures as 400. */
function toErrorReply(error: FastifyError | AppError | Error): { status: number; body: { error: { code: string; message: string; details?: Record<string, unknown> } } } {
  if (error instanceof AppError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } } };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return {
      status: 400,
      body: {
        error: {
          code: "VALIDATION_FAILED",
          message: fastifyError.message,
          details: { issues: fastifyError.validation.map((v) => ({ path: v.instancePath || "/", message: v.message ?? "invalid", params: v.params })) },
        },
      },
    };
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, body: { error: { code: frameworkCode(fastifyError), message: fastifyError.message } } };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "Something went wrong on our side; it has been logged" } } };
}

export async function buildServer(ctx: AppContext, options: ServerOptions = {}): Promise<Api> {
  const app = Fastify({
    // The app's JSON log (component "api"): requests at "info"; at "error" only failures reach it.
    ...(options.silent ? { logger: false } : { loggerInstance: componentLogger(ctx.monitor.log, "api", options.logRequests ? "info" : "error") }),
    // Unknown fields are refused, not silently dropped; nothing is coerced into another type.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    bodyLimit: 1_048_576,
    // Slow or silent clients are cut off (see ./hardening.ts); parser and router refusals keep the error shape.
    http: httpOptions(ctx.config.api),
    // Fastify sets these on the server itself, over what `http` asked for.
    requestTimeout: ctx.config.api.requestTimeoutMs,
    connectionTimeout: ctx.config.api.idleTimeoutMs,
    keepAliveTimeout: Math.min(5_000, ctx.config.api.idleTimeoutMs),
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as Api;

  capConnections(app.server, ctx.config.api.maxConnectionsPerIp);
  app.addSchema(ErrorBody);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Cxmpute CXPT API", version: "1.0.0", description: "Accounts, wallet linking, CXPT tokens, subscriptions, rewards, admin and the metered compute API. Amounts are decimal strings of wei." },
      components: {
        securitySchemes: {
          session: { type: "http", scheme: "bearer", description: "Session token from POST /api/v1/auth/siwe (cxs_…)" },
          apiKey: { type: "http", scheme: "bearer", description: "API key for the compute API (cxk_…)" },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/api/docs" });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const { status, body } = toErrorReply(error);
    if (status >= 500) request.log.error(error);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    const page = await webPage(ctx, request.method, request.url, request.headers.accept);
    if (page !== undefined) return reply.status(page.status).header("cache-control", "no-cache").type(page.type).send(page.body);
    return reply.status(404).send({ error: { code: "NOT_FOUND", message: `No route ${request.method} ${request.url}` } });
  });

  app.addHook("onSend", async (request, reply) => {
    // The dashboards may be served from another origin during development.
    reply.header("access-control-allow-origin", "*");
  });
  app.options("*", { schema: { hide: true } }, async (request, reply) =>
    reply
      .header("access-control-allow-methods", "GET,POST,PUT,DELETE,OPTIONS")
      .header("access-control-allow-headers", "authorization,content-type,x-api-key,idempotency-key,x-request-id")
      .status(204)
      .send(),
  );

  app.addHook("preValidation", inputGuard);
  await registerRateLimit(app, ctx);
  limitApiKeyFailures(app, ctx.config.api);
  for (const register of [...ROUTES, ...(options.extraRoutes ?? [])]) await app.register(async (scope) => register(scope as Api, ctx));
  await app.ready();
  return app;
}
