import { getAddress } from "viem";
import { useChains } from "wagmi";
import { shortHex } from "../lib/format.ts";
import { CopyButton } from "./CopyButton.tsx";

/** An address checksummed (shortened with `short`, whole in its tooltip), linked to the chain's explorer when it has one, with a copy button. */
export function AddressLink({ address, label, short }: { readonly address: string; readonly label?: string; readonly short?: boolean }) {
  const explorer = useChains()[0]?.blockExplorers?.default.url;
  const checksummed = getAddress(address);
  return (
    <span className="wrap">
      {explorer ? (
        <a className="mono" href={`${explorer}/address/${checksummed}`} target="_blank" rel="noreferrer" title={checksummed}>
          {short ? shortHex(checksummed, 6) : checksummed}
        </a>
      ) : (
        <span className="mono" title={checksummed}>
          {short ? shortHex(checksummed, 6) : checksummed}
        </span>
      )}
      <CopyButton text={checksummed} label={label ?? `address ${checksummed}`} />
    </span>
  );
}
