// Depositing CXPT into the Vault: the amount as typed (decimal CXPT → wei), the Vault's burn shown
// before anything is signed, then either approve-and-deposit or one permit-deposit (an EIP-2612
// signature, no separate approval). Both raise the allowance to the Vault by the amount first, so
// the deposit leaves the standing allowance (the PAYG allowance settlement draws on) as it was.
// The mined receipt's Paid event says what was paid and burned, and the API credits the deposit.
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import {
  ContractFunctionRevertedError,
  encodeErrorResult,
  formatUnits,
  maxUint256,
  parseEventLogs,
  parseSignature,
  zeroHash,
  type Address,
  type Hash,
  type TransactionReceipt,
} from "viem";
import { useConfig, useConnection, useReadContract, type Config } from "wagmi";
import { getBlock, readContract, signTypedData } from "wagmi/actions";
import { cxptAbi, vaultAbi } from "../../chain/abis.ts";
import { ActionButton } from "../components/ActionButton.tsx";
import { Modal } from "../components/Modal.tsx";
import { ErrorNote, Loading, StatusNote } from "../components/Notice.tsx";
import { TxLink } from "../components/TxLink.tsx";
import { ApiError } from "../lib/api.ts";
import { useContractAddress } from "../lib/appConfig.ts";
import { useWalletFunds } from "../lib/funds.ts";
import { formatBps, formatCxpt } from "../lib/format.ts";
import { useApi } from "../lib/session.tsx";
import { deliverReport, keepReport } from "../lib/reports.ts";
import { sendContractWrite } from "../lib/tx.ts";

const BPS = 10_000n;
/** How long a permit stays valid, from the chain's latest block. */
const PERMIT_TTL_SECONDS = 3_600n;

import { parseCxptAmount } from "../lib/amount.ts";

export { parseCxptAmount, type ParsedAmount } from "../lib/amount.ts";

/** What the Vault does with a payment of `amount` at `burnBps`: burns `burned`, keeps `kept` for rewards (Vault._accrue). */
export function burnSplit(amount: bigint, burnBps: bigint): { readonly burned: bigint; readonly kept: bigint } {
  const burned = (amount * burnBps) / BPS;
  return { burned, kept: amount - burned };
}

/**
 * The revert a deposit would hit, raised before anything is signed (so no approval or permit is
 * given for a deposit that must fail): the Vault's SanctionedAddress or the token's
 * ERC20InsufficientBalance, said by describeError like any revert.
 */
export function refusal(
  ...[errorName, args]: ["SanctionedAddress", readonly [Address]] | ["ERC20InsufficientBalance", readonly [Address, bigint, bigint]]
): ContractFunctionRevertedError {
  const abi = errorName === "SanctionedAddress" ? vaultAbi : cxptAbi;
  const data = encodeErrorResult({ abi, errorName, args } as never);
  return new ContractFunctionRevertedError({ abi, data, functionName: "deposit" });
}

/** The Vault's Paid event of a deposit receipt. */
export interface DepositOutcome {
  readonly hash: Hash;
  readonly amount: bigint;
  readonly burned: bigint;
}

/** The deposit `receipt` paid to `vault`, read from its Paid event. */
export function depositOutcome(receipt: TransactionReceipt, vault: Address): DepositOutcome {
  const [paid] = parseEventLogs({ abi: vaultAbi, eventName: "Paid", logs: receipt.logs.filter((log) => log.address.toLowerCase() === vault.toLowerCase()) });
  if (paid === undefined) throw new Error(`The transaction ${receipt.transactionHash} paid nothing into the Vault.`);
  return { hash: receipt.transactionHash, amount: paid.args.amount, burned: paid.args.burned };
}

export type DepositPath = "approve" | "permit";

interface DepositRequest {
  readonly cxpt: Address;
  readonly vault: Address;
  readonly wallet: Address;
  readonly amount: bigint;
  readonly path: DepositPath;
}

/**
 * The allowance a deposit of `amount` sets before it pays: the standing one plus the amount (at most
 * 2^256-1, which the token never decreases), so the standing allowance survives the deposit.
 * Vault.depositWithPermit expects a permit for exactly this value.
 */
export const allowanceForDeposit = (standing: bigint, amount: bigint): bigint => (standing > maxUint256 - amount ? maxUint256 : standing + amount);

/** The report that has the API credit deposit `txHash` (kept until the API took it: lib/reports.ts). */
export const depositReport = (txHash: Hash) => ({ txHash, what: "deposit", path: "/api/v1/tokens/deposit", body: { txHash } });

/**
 * Deposits `amount` by `path`, saying each step through `onStep`; the deposit's hash is kept for the
 * API's credit as soon as the wallet sent it. Resolves with the mined deposit's receipt.
 */
async function depositToVault(config: Config, { cxpt, vault, wallet, amount, path }: DepositRequest, onStep: (step: string) => void): Promise<TransactionReceipt> {
  const keep = (hash: Hash) => keepReport(wallet, depositReport(hash));
  const token = { address: cxpt, abi: cxptAbi } as const;
  const [balance, blocked] = await Promise.all([
    readContract(config, { ...token, functionName: "balanceOf", args: [wallet] }),
    readContract(config, { address: vault, abi: vaultAbi, functionName: "isSanctioned", args: [wallet] }),
  ]);
  if (blocked) throw refusal("SanctionedAddress", [wallet]);
  if (balance < amount) throw refusal("ERC20InsufficientBalance", [wallet, balance, amount]);
  const standing = await readContract(config, { ...token, functionName: "allowance", args: [wallet, vault] });
  const allowance = allowanceForDeposit(standing, amount);
  if (path === "approve") {
    // Unlimited already: the deposit leaves it unlimited without an approval.
    if (standing !== maxUint256) {
      onStep("Approving the Vault to take the amount on top of your PAYG allowance (confirm in your wallet)…");
      await sendContractWrite(config, { ...token, functionName: "approve", args: [vault, allowance] });
    }
    onStep("Depositing (confirm in your wallet)…");
    return sendContractWrite(config, { address: vault, abi: vaultAbi, functionName: "deposit", args: [amount, zeroHash] }, keep);
  }
  const [[, name, version, chainId, verifyingContract], nonce, block] = await Promise.all([
    readContract(config, { ...token, functionName: "eip712Domain" }),
    readContract(config, { ...token, functionName: "nonces", args: [wallet] }),
    getBlock(config),
  ]);
  const deadline = block.timestamp + PERMIT_TTL_SECONDS;
  onStep("Signing the permit (confirm in your wallet)…");
  const signature = await signTypedData(config, {
    domain: { name, version, chainId, verifyingContract },
    types: {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    message: { owner: wallet, spender: vault, value: allowance, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  onStep("Depositing with the permit (confirm in your wallet)…");
  return sendContractWrite(config, {
    address: vault,
    abi: vaultAbi,
    functionName: "depositWithPermit",
    args: [amount, zeroHash, deadline, Number(v ?? BigInt(yParity + 27)), r, s],
  }, keep);
}

/** The API's answer to a deposit submission. */
interface Credited {
  readonly credited: boolean;
  readonly creditsWei: string;
}

/** The burn before signing: "x CXPT burned (5 %), y kept by the Vault for rewards; your credits grow by the full amount". */
export function BurnPreview({ amount, burnBps }: { readonly amount: bigint; readonly burnBps: bigint }) {
  const { burned, kept } = burnSplit(amount, burnBps);
  return (
    <dl className="facts" aria-label="What the deposit does">
      <dt>Burned</dt>
      <dd>
        {formatCxpt(burned, 18)} burned ({formatBps(burnBps)})
      </dd>
      <dt>To the rewards pool</dt>
      <dd>{formatCxpt(kept, 18)}</dd>
      <dt>Credited to you</dt>
      <dd>{formatCxpt(amount, 18)} (the burn is the protocol's, not a fee on your credits)</dd>
    </dl>
  );
}

/** The confirmed deposit: its transaction, what the receipt's event says, and the API's crediting. */
export function DepositReceipt({ outcome, credited, creditError }: { readonly outcome: DepositOutcome; readonly credited?: Credited; readonly creditError?: unknown }) {
  return (
    <div>
      <StatusNote>
        Deposit confirmed: {formatCxpt(outcome.amount, 18)} paid, {formatCxpt(outcome.burned, 18)} burned. Transaction <TxLink hash={outcome.hash} />.
        {credited ? ` Your credits are now ${formatCxpt(credited.creditsWei)}.` : ""}
      </StatusNote>
      {creditError === undefined && credited === undefined ? <Loading what="your credits" /> : null}
      <ErrorNote error={creditError} />
      {creditError === undefined ? null : <p className="muted">Your deposit is on chain and nothing is lost: this browser tells Cxmpute about it again on your next visit.</p>}
    </div>
  );
}

/** The deposit form inside the modal (mounted fresh at each opening). */
function DepositForm() {
  const config = useConfig();
  const { address } = useConnection();
  const cxpt = useContractAddress("cxpt");
  const vault = useContractAddress("vault");
  const api = useApi();
  const queryClient = useQueryClient();
  const burnBps = useReadContract({ address: vault, abi: vaultAbi, functionName: "burnBps" });
  const amountId = useId();
  const [text, setText] = useState("");
  const [path, setPath] = useState<DepositPath>("approve");
  const [step, setStep] = useState<string>();
  const [outcome, setOutcome] = useState<DepositOutcome>();
  const [credited, setCredited] = useState<Credited>();
  const [creditError, setCreditError] = useState<unknown>();
  const parsed = parseCxptAmount(text);
  const { funds } = useWalletFunds();

  // The API credits a deposit once it has its confirmations: a pending answer is asked again.
  const creditToAccount = (hash: Hash) => deliverReport<Credited>(api, address!, depositReport(hash));

  const deposit = async () => {
    if (parsed.error !== undefined) throw new Error(parsed.error);
    if (address === undefined) throw new Error("Connect a wallet first.");
    setOutcome(undefined);
    setCredited(undefined);
    setCreditError(undefined);
    let receipt: TransactionReceipt;
    try {
      receipt = await depositToVault(config, { cxpt, vault, wallet: address, amount: parsed.wei, path }, setStep);
    } finally {
      setStep(undefined);
      void queryClient.invalidateQueries();
    }
    const paid = depositOutcome(receipt, vault);
    setOutcome(paid);
    try {
      setCredited(await creditToAccount(paid.hash));
    } catch (error) {
      setCreditError(error);
    } finally {
      void queryClient.invalidateQueries();
    }
  };

  return (
    <form onSubmit={(event) => event.preventDefault()}>
      <p>
        <label htmlFor={amountId}>Amount (CXPT)</label>{" "}
        <input
          id={amountId}
          inputMode="decimal"
          autoComplete="off"
          value={text}
          onChange={(event) => setText(event.target.value)}
          aria-invalid={text !== "" && parsed.error !== undefined}
          aria-describedby={`${amountId}-hint`}
        />{" "}
        <button type="button" className="secondary" onClick={() => funds && setText(formatUnits(funds.balance, 18))} disabled={funds === undefined || funds.balance === 0n}>
          Max
        </button>
      </p>
      <p id={`${amountId}-hint`} className={text !== "" && parsed.error !== undefined ? "note error" : "muted"} role={text !== "" && parsed.error !== undefined ? "alert" : undefined}>
        {text !== "" && parsed.error !== undefined ? parsed.error : "Deposits pay for usage from your credits."}
      </p>
      {burnBps.error ? <ErrorNote error={burnBps.error} /> : burnBps.data === undefined ? <Loading what="the Vault's burn rate" /> : parsed.wei !== undefined ? <BurnPreview amount={parsed.wei} burnBps={burnBps.data} /> : null}
      <fieldset>
        <legend>How to pay</legend>
        <label className="choice">
          <input type="radio" name="deposit-path" value="approve" checked={path === "approve"} onChange={() => setPath("approve")} /> Approve, then deposit (two transactions if the
          allowance is short)
        </label>
        <label className="choice">
          <input type="radio" name="deposit-path" value="permit" checked={path === "permit"} onChange={() => setPath("permit")} /> Permit and deposit (sign a permit, one transaction)
        </label>
      </fieldset>
      <p className="muted">The deposit uses your PAYG allowance (what the Vault may take from your wallet): set it again afterwards if you pay as you go.</p>
      <ActionButton onAction={deposit} pendingLabel="Depositing…" disabled={parsed.error !== undefined || burnBps.data === undefined} clearOn={text}>
        Deposit
      </ActionButton>
      {step ? <StatusNote>{step}</StatusNote> : null}
      {outcome ? <DepositReceipt outcome={outcome} credited={credited} creditError={creditError} /> : null}
    </form>
  );
}

/** The deposit modal; the form inside starts fresh at each opening. */
export function DepositTokensModal({ open, onClose }: { readonly open: boolean; readonly onClose: () => void }) {
  return (
    <Modal open={open} title="Deposit CXPT" onClose={onClose}>
      <DepositForm />
    </Modal>
  );
}
