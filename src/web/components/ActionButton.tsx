import { useEffect, useState, type ReactNode } from "react";
import { ErrorNote } from "./Notice.tsx";

export interface ActionButtonProps {
  /** The action; its rejection is shown under the button, its end always clears the pending state. */
  readonly onAction: () => Promise<unknown>;
  readonly children: ReactNode;
  /** The label while the action runs ("Depositing…"). */
  readonly pendingLabel?: string;
  readonly disabled?: boolean;
  readonly variant?: "primary" | "secondary" | "danger";
  /** The input the action acts on: when it changes, an error said about the old input is cleared. */
  readonly clearOn?: unknown;
}

/** A button that runs an async action: disabled while it runs, its error said below it. */
export function ActionButton({ onAction, children, pendingLabel, disabled, variant = "primary", clearOn }: ActionButtonProps) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => setError(undefined), [clearOn]);
  const run = async () => {
    setPending(true);
    setError(undefined);
    try {
      await onAction();
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };
  return (
    <span className="action">
      <button type="button" className={variant} onClick={run} disabled={disabled || pending} aria-busy={pending}>
        {pending ? (pendingLabel ?? "Working…") : children}
      </button>
      <ErrorNote error={error} />
    </span>
  );
}
