import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Fallback } from "./Fallback.tsx";

function Broken(): never {
  throw new Error("chunk could not be fetched");
}

describe("Fallback", () => {
  it("shows its fallback instead of a part that failed, and the part when it renders", () => {
    vi.spyOn(console, "error").mockImplementation(() => {}); // React reports the caught error
    render(
      <>
        <Fallback fallback={<p>the part failed</p>}>
          <Broken />
        </Fallback>
        <Fallback fallback={<p>not shown</p>}>
          <p>the part</p>
        </Fallback>
      </>,
    );
    expect(screen.getByText("the part failed")).toBeTruthy();
    expect(screen.getByText("the part")).toBeTruthy();
    expect(screen.queryByText("not shown")).toBeNull();
  });
});
