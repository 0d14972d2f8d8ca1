// The dashboards' modal dialog (the deposit, the wallet).
import { useEffect, useId, useRef, type ReactNode } from "react";

/**
 * A modal <dialog>: shown with showModal (the page behind is inert, so focus stays inside), Esc
 * closes it, and focus returns to what had it before.
 */
export function Modal({
  open,
  title,
  onClose,
  children,
}: {
  readonly open: boolean;
  readonly title: string;
  readonly onClose: () => void;
  readonly children: ReactNode;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const element = dialog.current;
    if (element === null || !open) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (typeof element.showModal === "function") element.showModal();
    else element.setAttribute("open", ""); // jsdom has no showModal
    return () => {
      if (typeof element.close === "function" && element.open) element.close();
      else element.removeAttribute("open");
      opener?.focus();
    };
  }, [open]);
  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault(); // React closes it (the effect's cleanup), so state and DOM agree
        onClose();
      }}
      onKeyDown={(event) => {
        // Browsers also fire cancel on Esc; this covers those that do not (and jsdom). Closing twice is harmless.
        if (event.key === "Escape") {
          event.preventDefault();
          onClose();
        }
      }}
    >
      {open ? (
        <>
          <div className="card-header">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="secondary" onClick={onClose}>
              Close
            </button>
          </div>
          {children}
        </>
      ) : null}
    </dialog>
  );
}
