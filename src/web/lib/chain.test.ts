import { describe, expect, it } from "vitest";
import { chainFor } from "./chain.ts";

describe("chainFor", () => {
  it("uses viem's peaq and agung definitions with the API's RPC URL", () => {
    const peaq = chainFor(3338, "http://127.0.0.1:8787/rpc", null);
    expect(peaq.name).toBe("Peaq");
    expect(peaq.nativeCurrency.symbol).toBe("PEAQ");
    expect(peaq.blockExplorers?.default.url).toBe("https://peaq.subscan.io");
    expect(peaq.rpcUrls.default.http).toEqual(["http://127.0.0.1:8787/rpc"]);
    const agung = chainFor(9990, "http://x/rpc", "https://example.org/explorer");
    expect(agung.nativeCurrency.symbol).toBe("AGNG");
    expect(agung.blockExplorers?.default).toEqual({ name: "Subscan", url: "https://example.org/explorer" });
  });

  it("names the local chain and any other id plainly", () => {
    expect(chainFor(31337, "http://x/rpc", null).name).toBe("Local chain");
    expect(chainFor(5, "http://x/rpc", null).name).toBe("Chain 5");
  });
});
