import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderWithApp, stubApi } from "../test/render.tsx";
import { NodesCard, type ProviderNode } from "./NodesCard.tsx";

const NODE: ProviderNode = {
  id: "6f1c1a52-8f4f-4a43-9a4e-0a4b1f0c0001",
  baseUrl: "http://127.0.0.1:9001/v1",
  models: ["llama-3.1-8b-instruct", "nomic-embed-text"],
  tier: "blue-surge",
  maxConcurrency: 4,
  paused: false,
  status: "up",
  lastCheckAt: "2026-03-01T05:00:00.000Z",
  p50Ms: 42,
  uptimeBps: 9950,
  outstanding: 1,
};

describe("NodesCard", () => {
  it("lists each node with its health", async () => {
    stubApi({ "GET /api/v1/provider/nodes": [200, { nodes: [NODE, { ...NODE, id: "2", baseUrl: "http://127.0.0.1:9002/v1", status: "down", p50Ms: null, uptimeBps: null }] }] });
    await renderWithApp(<NodesCard />);
    const card = screen.getByRole("region", { name: "Nodes" });
    const rows = await within(card).findAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(rows[1]!.textContent).toContain("http://127.0.0.1:9001/v1");
    expect(rows[1]!.textContent).toContain("llama-3.1-8b-instruct, nomic-embed-text");
    expect(rows[1]!.textContent).toContain("blue-surge");
    expect(rows[1]!.textContent).toContain("up");
    expect(rows[1]!.textContent).toContain("42 ms");
    expect(rows[1]!.textContent).toContain("99.50 %");
    expect(rows[1]!.textContent).toContain("1 / 4");
    expect(rows[2]!.textContent).toContain("down");
  });

  it("adds a node and shows the API's refusal when there is one", async () => {
    let nodes: ProviderNode[] = [];
    let answer: readonly [number, unknown] = [400, { error: { code: "NODE_ADDRESS_NOT_ALLOWED", message: "10.0.0.1 is outside the operator's allow-list" } }];
    const calls = stubApi({ "GET /api/v1/provider/nodes": () => [200, { nodes }], "POST /api/v1/provider/nodes": () => answer });
    await renderWithApp(<NodesCard />);
    await screen.findByText(/No nodes yet/);
    const form = screen.getByRole("form", { name: "Add a node" });
    await userEvent.type(within(form).getByLabelText(/Base URL/), "http://10.0.0.1:8000/v1");
    await userEvent.type(within(form).getByLabelText(/Models/), "llama-3.1-8b-instruct, mistral-7b-instruct");
    await userEvent.selectOptions(within(form).getByLabelText(/Tier/), "open-ocean");
    await userEvent.click(within(form).getByRole("button", { name: "Add node" }));
    expect((await within(form).findByRole("alert")).textContent).toContain("outside the operator's allow-list");

    answer = [201, NODE];
    nodes = [NODE];
    await userEvent.click(within(form).getByRole("button", { name: "Add node" }));
    await screen.findByText("http://127.0.0.1:9001/v1");
    expect(calls.filter((c) => c === "POST /api/v1/provider/nodes")).toHaveLength(2);
    expect(within(form).queryByRole("alert")).toBeNull();
  });

  it("pauses, and removes only after a confirmation", async () => {
    let nodes: ProviderNode[] = [NODE];
    const calls = stubApi({
      "GET /api/v1/provider/nodes": () => [200, { nodes }],
      [`PATCH /api/v1/provider/nodes/${NODE.id}`]: () => {
        nodes = [{ ...NODE, paused: true }];
        return [200, nodes[0]];
      },
      [`DELETE /api/v1/provider/nodes/${NODE.id}`]: () => {
        nodes = [];
        return [204, null];
      },
    });
    await renderWithApp(<NodesCard />);
    await userEvent.click(await screen.findByRole("button", { name: "Pause" }));
    await screen.findByRole("button", { name: "Resume" });
    expect(screen.getAllByRole("row")[1]!.textContent).toContain("paused");

    await userEvent.click(screen.getByRole("button", { name: "Remove" }));
    expect(calls.some((c) => c.startsWith("DELETE"))).toBe(false);
    await userEvent.click(screen.getByRole("button", { name: "Keep it" }));
    await userEvent.click(screen.getByRole("button", { name: "Remove" }));
    await userEvent.click(screen.getByRole("button", { name: "Yes, remove" }));
    await waitFor(() => expect(screen.queryByText(/No nodes yet/)).toBeTruthy());
    expect(calls.filter((c) => c.startsWith("DELETE"))).toHaveLength(1);
  });
});
