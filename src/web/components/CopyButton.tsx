import { useState } from "react";

/** Copies `text` to the clipboard and says so for a moment; `label` names what is copied for screen readers. */
export function CopyButton({ text, label }: { readonly text: string; readonly label: string }) {
  const [copied, setCopied] = useState<"yes" | "no" | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      // No clipboard permission (an insecure origin, a refusing browser): the text stays selectable.
      setCopied("no");
    }
    setTimeout(() => setCopied(undefined), 2_000);
  };
  return (
    <button type="button" className="secondary copy" onClick={copy} aria-label={`Copy ${label}`}>
      {copied === "yes" ? "Copied" : copied === "no" ? "Copy failed" : "Copy"}
    </button>
  );
}
