import type { ReactNode } from "react";
import { describeError } from "../lib/errors.ts";

/** A failure, said plainly and announced to screen readers. */
export function ErrorNote({ error }: { readonly error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p className="note error" role="alert">
      {describeError(error)}
    </p>
  );
}

/** A success or progress line, announced politely. */
export function StatusNote({ children }: { readonly children: ReactNode }) {
  return (
    <p className="note ok" role="status">
      {children}
    </p>
  );
}

/** A loading line for data still on its way (never left spinning: callers render an ErrorNote on failure). */
export function Loading({ what }: { readonly what: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}
