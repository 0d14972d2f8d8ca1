import { describe, expect, it } from "vitest";
// The chain descriptions the dashboards (and the backend) use, from src/chain/chains.ts.
import { chainAt } from "../../chain/chains.ts";

describe("chainAt", () => {
  it("uses viem's peaq and agung definitions with the API's RPC URL", () => {
    const peaq = chainAt(3338, "http://127.0.0.1:8787/rpc", null);
    expect(peaq.name).toBe("Peaq");
    expect(peaq.nativeCurrency.symbol).toBe("PEAQ");
    expect(peaq.blockExplorers?.default.url).toBe("https://peaq.subscan.io");
    expect(peaq.rpcUrls.default.http).toEqual(["http://127.0.0.1:8787/rpc"]);
    const agung = chainAt(9990, "http://x/rpc", "https://example.org/explorer");
    expect(agung.nativeCurrency.symbol).toBe("AGNG");
    expect(agung.blockExplorers?.default).toEqual({ name: "Subscan", url: "https://example.org/explorer" });
  });

  it("names the local chain and any other id plainly", () => {
    expect(chainAt(31337, "http://x/rpc", null).name).toBe("Local chain");
    expect(chainAt(5, "http://x/rpc", null).name).toBe("Chain 5");
  });
});
