// The testnet faucet (migration phase 0): a signed-in wallet asks for test CXPT and gets
// FAUCET_AMOUNT_WEI of it, plus its native balance topped up to FAUCET_GAS_WEI so it can send its
// first transactions, from the faucet key (FAUCET_PRIVATE_KEY). Testnet only.
//
// Once per wallet per FAUCET_COOLDOWN_SECONDS, across API instances: the wallet's slot is taken in
// PostgreSQL (one conditional upsert, atomic whichever instance asks) before anything is sent, so
// two concurrent requests never both pay. A request that sent nothing (the faucet is empty, the
// node refused) gives the slot back; one that paid keeps it. Each request is a faucet_drips row
// with the hashes recorded before broadcast, so a crash mid-request leaves a record of what may
// have landed and never a second payment.
import { erc20Abi, type Address, type Hex } from "viem";
import type { AppContext } from "../app/context.ts";
import type { ChainContext, Signer } from "../app/chain.ts";
import type { Account } from "../accounts/store.ts";
import { requireChainFeature } from "../app/guards.ts";
import { send, sendRaw } from "../chain/send.ts";
import type { Queryable } from "../db/db.ts";
import { AppError, conflict } from "../errors.ts";

export interface Drip {
  readonly id: string;
  readonly wallet: Address;
  readonly amountWei: bigint;
  /** Native gas money sent (0 when the wallet already held FAUCET_GAS_WEI). */
  readonly gasWei: bigint;
  readonly cxptTxHash: Hex;
  readonly gasTxHash: Hex | null;
  /** When the wallet may ask again. */
  readonly nextAt: Date;
}

export interface FaucetStatus {
  readonly enabled: boolean;
  readonly amountWei: bigint;
  readonly gasWei: bigint;
  readonly cooldownSeconds: number;
  /** When this wallet may ask again; null: now. */
  readonly nextAt: Date | null;
}

/** 429 `FAUCET_COOLDOWN`: the wallet asked within the period; details say when it may ask again. */
export const cooldown = (nextAt: Date, now = Date.now()) => {
  const retryAfterSeconds = Math.max(1, Math.ceil((nextAt.getTime() - now) / 1000));
  return new AppError("FAUCET_COOLDOWN", `this wallet got test CXPT recently: ask again in ${formatWait(retryAfterSeconds)} (at ${nextAt.toISOString()})`, 429, {
    retryAfterSeconds,
    nextAt: nextAt.toISOString(),
  });
};

function formatWait(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h} h` : "", m ? `${m} min` : "", !h && s ? `${s} s` : ""].filter(Boolean).join(" ") || "a moment";
}

function faucetSigner(chain: ChainContext): Signer {
  const signer = chain.signers.faucet;
  if (signer === undefined) throw conflict("FAUCET_NOT_CONFIGURED", "the faucet has no key: set FAUCET_PRIVATE_KEY (a key holding test CXPT and gas money)");
  return signer;
}

const walletOf = (account: Account): Address => {
  if (account.wallet === null) throw conflict("NO_WALLET", "link a wallet to the account first (sign in with it)");
  return account.wallet;
};

/** When `wallet` may ask again, if it must wait. */
async function nextAllowed(db: Queryable, wallet: Address): Promise<Date | null> {
  const { rows } = await db.query<{ next_at: Date | string }>("select next_at from faucet_cooldowns where wallet = $1 and next_at > now()", [wallet.toLowerCase()]);
  return rows[0] ? new Date(rows[0].next_at) : null;
}

/** Takes `wallet`'s slot for `seconds` if it is free; else throws 429 with the time left. */
async function takeSlot(db: Queryable, wallet: Address, seconds: number): Promise<{ nextAt: Date; previous: Date | null }> {
  const { rows } = await db.query<{ next_at: Date | string; previous: Date | string | null }>(
    `with old as (select next_at from faucet_cooldowns where wallet = $1)
     insert into faucet_cooldowns (wallet, next_at) values ($1, now() + make_interval(secs => $2))
     on conflict (wallet) do update set next_at = excluded.next_at where faucet_cooldowns.next_at <= now()
     returning next_at, (select next_at from old) as previous`,
    [wallet.toLowerCase(), seconds],
  );
  if (rows[0]) return { nextAt: new Date(rows[0].next_at), previous: rows[0].previous === null ? null : new Date(rows[0].previous) };
  const waiting = await nextAllowed(db, wallet);
  // The slot was freed between the two statements (a failed request gave it back): ask again.
  if (waiting === null) return takeSlot(db, wallet, seconds);
  throw cooldown(waiting);
}

/** What the dashboards show: whether the faucet is on, how much it gives, when this wallet may ask. */
export async function faucetStatus(ctx: AppContext, account: Account): Promise<FaucetStatus> {
  const { amountWei, gasWei, cooldownSeconds } = ctx.config.faucet;
  const enabled = ctx.stage.stage === "testnet" && ctx.chain?.signers.faucet !== undefined;
  return { enabled, amountWei, gasWei, cooldownSeconds, nextAt: account.wallet ? await nextAllowed(ctx.db, account.wallet) : null };
}

/**
 * One drip of a faucet key at a time in this process: its balance check, CXPT transfer and gas
 * top-up go together (the sender's own per-key queue orders single transactions, not the drip).
 */
const queues = new WeakMap<Signer, Promise<unknown>>();
function serially<T>(signer: Signer, work: () => Promise<T>): Promise<T> {
  const run = (queues.get(signer) ?? Promise.resolve()).then(work);
  queues.set(signer, run.catch(() => undefined));
  return run;
}

/**
 * Sends the configured CXPT and gas top-up to the account's wallet and returns the drip.
 * @throws AppError 409 `FEATURE_DISABLED` (not testnet), `FAUCET_NOT_CONFIGURED`, `NO_WALLET`;
 * 429 `FAUCET_COOLDOWN` (details.retryAfterSeconds); 503 `FAUCET_EMPTY` when the faucet holds too
 * little; the chain sender's 502/504 when the node fails (the slot is given back when nothing was sent).
 */
export async function requestDrip(ctx: AppContext, account: Account): Promise<Drip> {
  const chain = requireChainFeature(ctx, "faucet");
  const signer = faucetSigner(chain);
  const wallet = walletOf(account);
  const { amountWei, gasWei, cooldownSeconds } = ctx.config.faucet;
  const slot = await takeSlot(ctx.db, wallet, cooldownSeconds);
  const { rows } = await ctx.db.query<{ id: string }>(
    "insert into faucet_drips (account_id, wallet, chain_id, amount_wei) values ($1, $2, $3, $4) returning id::text as id",
    [account.id, wallet.toLowerCase(), chain.chainId, amountWei.toString()],
  );
  const id = rows[0]!.id;
  const counter = ctx.monitor.metrics.chainTransactions;
  let cxptTxHash: Hex | undefined;
  try {
    return await serially(signer, async () => {
      const held = await chain.client.readContract({ address: chain.addresses.cxpt, abi: erc20Abi, functionName: "balanceOf", args: [signer.account.address] });
      if (held < amountWei) throw new AppError("FAUCET_EMPTY", "the faucet is out of test CXPT; the operators are alerted, try again later", 503);
      const sent = await send(
        { client: chain.client, signer },
        { address: chain.addresses.cxpt, abi: erc20Abi, functionName: "transfer", args: [wallet, amountWei] },
        { purpose: "faucet", counter, beforeBroadcast: (hash) => ctx.db.query("update faucet_drips set cxpt_tx_hash = $2 where id = $1", [id, hash]) },
      );
      if (sent.receipt.status !== "success") throw new AppError("TX_REVERTED", `the faucet's CXPT transfer reverted (${sent.hash})`, 502);
      cxptTxHash = sent.hash;
      const gas = await topUpGas(ctx, chain, signer, wallet, gasWei, id);
      await ctx.db.query("update faucet_drips set status = 'sent', finished_at = now() where id = $1", [id]);
      return { id, wallet, amountWei, gasWei: gas.sentWei, cxptTxHash: sent.hash, gasTxHash: gas.hash, nextAt: slot.nextAt };
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const { rows: recorded } = await ctx.db.query<{ cxpt_tx_hash: string | null }>("select cxpt_tx_hash from faucet_drips where id = $1", [id]);
    if (cxptTxHash === undefined && recorded[0]?.cxpt_tx_hash == null) {
      // Nothing was broadcast: the request failed and the wallet may ask again at once.
      await ctx.db.query("update faucet_drips set status = 'failed', error = $2, finished_at = now() where id = $1", [id, message]);
      await ctx.db.query("update faucet_cooldowns set next_at = coalesce($2, now()) where wallet = $1", [wallet.toLowerCase(), slot.previous]);
    } else if (cxptTxHash === undefined) {
      // Broadcast but not seen mined (stuck, answer lost): it may still land, so the slot stays
      // taken and the drip stays pending with its hash for an operator to look up.
      await ctx.db.query("update faucet_drips set error = $2 where id = $1", [id, message]);
    } else {
      // The CXPT was paid, the gas top-up was not: the drip counts, its record says so.
      await ctx.db.query("update faucet_drips set status = 'sent', error = $2, finished_at = now() where id = $1", [id, `gas top-up: ${message}`]);
    }
    throw error;
  }
}

/** Tops `wallet`'s native balance up to `target` (nothing sent when it holds that much already). */
async function topUpGas(ctx: AppContext, chain: ChainContext, signer: Signer, wallet: Address, target: bigint, id: string): Promise<{ hash: Hex | null; sentWei: bigint }> {
  const missing = target - (await chain.client.getBalance({ address: wallet }));
  if (missing <= 0n) return { hash: null, sentWei: 0n };
  const { hash, receipt } = await sendRaw({ client: chain.client, signer }, { to: wallet, value: missing }, {
    purpose: "faucet_gas",
    counter: ctx.monitor.metrics.chainTransactions,
    // Recorded before it is broadcast, like the CXPT transfer: a crash leaves what may have landed on record.
    beforeBroadcast: (signed) =>
      ctx.db.query("update faucet_drips set gas_tx_hash = $2, gas_wei = $3 where id = $1", [id, signed, missing.toString()]),
  });
  if (receipt.status !== "success") throw new AppError("TX_REVERTED", `the faucet's gas top-up reverted (${hash})`, 502);
  return { hash, sentWei: missing };
}
