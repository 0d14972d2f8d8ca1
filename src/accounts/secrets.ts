// Secrets the backend hands out (API keys, session tokens) are stored only as their SHA-256:
// a leaked database does not leak a usable key. The plain value is shown once, when created.
import { createHash, randomBytes } from "node:crypto";

/** SHA-256 hex of a secret: how API keys and session tokens are looked up. */
export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("hex");

/** A new random secret with a readable prefix: `cxk_…` for API keys, `cxs_…` for sessions. */
export const newSecret = (prefix: "cxk" | "cxs"): string => `${prefix}_${randomBytes(24).toString("base64url")}`;
