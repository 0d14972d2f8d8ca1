import { getAddress } from "viem";
import { useChains } from "wagmi";
import { CopyButton } from "./CopyButton.tsx";

/** An address checksummed, linked to the chain's explorer when it has one, with a copy button. */
export function AddressLink({ address, label }: { readonly address: string; readonly label?: string }) {
  const explorer = useChains()[0]?.blockExplorers?.default.url;
  const checksummed = getAddress(address);
  return (
    <span className="wrap">
      {explorer ? (
        <a className="mono" href={`${explorer}/address/${checksummed}`} target="_blank" rel="noreferrer">
          {checksummed}
        </a>
      ) : (
        <span className="mono">{checksummed}</span>
      )}
      <CopyButton text={checksummed} label={label ?? `address ${checksummed}`} />
    </span>
  );
}
