// Shows `fallback` instead of a part that failed to render (a chunk that could not be fetched, a chart
// without a canvas), so one failed part never blanks the page around it.
import { Component, type ReactNode } from "react";

export class Fallback extends Component<{ readonly children: ReactNode; readonly fallback: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}
