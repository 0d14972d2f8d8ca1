import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { AirdropConsole, ReviewNote } from "./AirdropConsole.tsx";
import { preview, recordBodies, renderWithApp, settings, stubApi, TX, type Routes } from "./testing.tsx";

const csvFile = (text: string) => new File([text], "points.csv", { type: "text/csv" });

describe("AirdropConsole", () => {
  it("reports each CSV row with its result, and allows no dispatch while a row is refused", async () => {
    stubApi({ "GET /api/v1/admin/settings": [200, settings], "POST /api/v1/admin/rewards/points/preview": [200, preview(true)] });
    const bodies = recordBodies();
    await renderWithApp(<AirdropConsole />);
    await userEvent.upload(await screen.findByLabelText("Points CSV"), csvFile("wallet,points,pool\n…"));
    const table = await screen.findByRole("table");
    const rows = within(table).getAllByRole("row").slice(1).map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent));
    expect(rows).toEqual([
      ["2", "0x0000…00a1", "providers", "100", "✓ ok", "25 CXPT"],
      ["3", "0x0000…00a2", "providers", "300", "✓ ok", "75 CXPT"],
      ["4", "0x1234", "users", "5", '✗ "0x1234" is not an address (or its checksum is wrong)', "—"],
    ]);
    expect(screen.getByRole("alert").textContent).toContain("2 rows ok, 1 refused");
    expect(screen.queryByRole("button", { name: /Publish epoch/ })).toBeNull();
    expect(bodies["POST /api/v1/admin/rewards/points/preview"]).toEqual({ epoch: 1, csv: "wallet,points,pool\n…" });
  });

  it("says what is wrong with a file it cannot read, line by line", async () => {
    const unreadable = { ...preview(false), ok: false, rows: [], problems: [{ line: 1, message: 'the header must name the columns wallet,points and optionally pool, got "a,b"' }] };
    stubApi({ "GET /api/v1/admin/settings": [200, settings], "POST /api/v1/admin/rewards/points/preview": [200, unreadable] });
    await renderWithApp(<AirdropConsole />);
    await userEvent.upload(await screen.findByLabelText("Points CSV"), csvFile("a,b\n1,2\n"));
    expect((await screen.findByRole("alert")).textContent).toBe('Line 1: the header must name the columns wallet,points and optionally pool, got "a,b"');
  });

  it("shows an API refusal of the preview as a message", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "POST /api/v1/admin/rewards/points/preview": [409, { error: { code: "WRONG_EPOCH", message: "points can only be uploaded for the next epoch 2 (epoch 1 is current), not 1" } }],
    });
    await renderWithApp(<AirdropConsole />);
    await userEvent.upload(await screen.findByLabelText("Points CSV"), csvFile("wallet,points\n"));
    expect((await screen.findByRole("alert")).textContent).toBe("points can only be uploaded for the next epoch 2 (epoch 1 is current), not 1");
  });

  it("dispatches a clean file and follows the upload's progress to the end, with its transactions", async () => {
    const routes: Routes = {
      "GET /api/v1/admin/settings": [200, settings],
      "POST /api/v1/admin/rewards/points/preview": [200, preview(false)],
      "POST /api/v1/admin/rewards/points": [200, { epoch: 1, rows: 2, sent: 2, unchanged: 0, pools: {}, txHashes: [TX] }],
      "GET /api/v1/admin/rewards/points/1/progress": [200, { epoch: 1, status: "uploaded", rows: 2, uploaded: 2, done: true, txHashes: [TX] }],
    };
    const calls = stubApi(routes);
    const bodies = recordBodies();
    await renderWithApp(<AirdropConsole />);
    await userEvent.upload(await screen.findByLabelText("Points CSV"), csvFile("wallet,points,pool\nok"));
    expect((await screen.findByRole("status")).textContent).toContain("2 rows ok: ready to dispatch");
    await userEvent.click(screen.getByRole("button", { name: "Publish epoch 1 shares" }));
    await waitFor(() => expect(screen.getByText(/Uploaded epoch 1: 2 rows sent, 0 unchanged, in 1 transaction/)).toBeTruthy());
    await waitFor(() => expect((screen.getByRole("progressbar", { name: "Upload progress" }) as HTMLProgressElement).value).toBe(1000));
    expect(screen.getByText("2 of 2 rows of epoch 1 on chain: done.")).toBeTruthy();
    expect(screen.getAllByRole("link").map((a) => a.getAttribute("href"))).toContain(`/tx/${TX}`);
    expect(bodies["POST /api/v1/admin/rewards/points"]).toEqual({ epoch: 1, csv: "wallet,points,pool\nok" });
    expect(calls).toContain("GET /api/v1/admin/rewards/points/1/progress");
    // Published: the button says so and cannot publish the same shares again.
    expect((screen.getByRole("button", { name: "Epoch 1 shares published" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("says the upload failed when it did, and the dispatch can be tried again", async () => {
    stubApi({
      "GET /api/v1/admin/settings": [200, settings],
      "POST /api/v1/admin/rewards/points/preview": [200, preview(false)],
      "POST /api/v1/admin/rewards/points": [502, { error: { code: "UPLOAD_FAILED", message: "updateShares batch 1 (accounts 1–2 of 2) failed after 0 mined batch(es): NotNextEpoch(1, 2)" } }],
      "GET /api/v1/admin/rewards/points/1/progress": [200, { epoch: 1, status: "uploading", rows: 2, uploaded: 0, done: false, txHashes: [] }],
    });
    await renderWithApp(<AirdropConsole />);
    await userEvent.upload(await screen.findByLabelText("Points CSV"), csvFile("wallet,points,pool\nok"));
    await userEvent.click(await screen.findByRole("button", { name: "Publish epoch 1 shares" }));
    expect((await screen.findByRole("alert")).textContent).toContain("NotNextEpoch(1, 2)");
    expect((screen.getByRole("button", { name: "Publish epoch 1 shares" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("shows the pending upload under review, until when the Safe can void it, and a voided upload", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const next = { epoch: 3, uploaded: true, voided: false, reviewDelaySeconds: 43_200, currentEndsAt: "2026-01-01T00:00:00.000Z", reviewEndsAt: later, startableAt: later };
    const { rerender } = render(<ReviewNote next={next} />);
    const note = screen.getByRole("status").textContent ?? "";
    expect(note).toContain("Epoch 3 shares are uploaded and under review (12 hours after each upload)");
    expect(note).toContain("until then the Safe or a guardian can void the upload");
    expect(note).not.toContain("start now");
    rerender(<ReviewNote next={{ ...next, reviewEndsAt: "2026-01-01T00:00:00.000Z", startableAt: "2026-01-01T00:00:00.000Z" }} />);
    expect(screen.getByRole("status").textContent).toMatch(/the epoch can start now\.$/);
    rerender(<ReviewNote next={{ ...next, voided: true }} />);
    expect(screen.getByRole("status").textContent).toContain("The Safe voided epoch 3's upload");
    rerender(<ReviewNote next={{ ...next, uploaded: false, reviewEndsAt: null }} />);
    expect(screen.getByText(/No shares uploaded for epoch 3 yet\. An upload is reviewed for 12 hours/)).toBeTruthy();
  });
});
