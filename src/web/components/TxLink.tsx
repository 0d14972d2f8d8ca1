import { txUrl, useAppConfig } from "../lib/appConfig.ts";
import { shortHex } from "../lib/format.ts";

/** A link to a transaction: the explorer's page, or the dashboards' receipt page on a local chain. */
export function TxLink({ hash }: { readonly hash: string }) {
  const config = useAppConfig();
  const url = txUrl(config, hash);
  return (
    <a href={url} className="mono" title={hash} {...(url.startsWith("http") ? { target: "_blank", rel: "noreferrer" } : {})}>
      {shortHex(hash, 6)}
    </a>
  );
}
