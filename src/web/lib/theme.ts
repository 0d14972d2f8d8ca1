// The colour theme: the system's (prefers-color-scheme) unless the person pinned light or dark with
// the header's toggle. The choice lives in localStorage and on <html data-theme>, which the stylesheet
// reads; index.html applies it before the first paint.
import { useState } from "react";

export type ThemeChoice = "system" | "light" | "dark";

const STORAGE_KEY = "cxpt-theme";
/** Dispatched on window when the toggle changes the theme (canvas charts redraw in the new colours). */
export const THEME_EVENT = "cxpt-theme";

/** Whether the page is dark now: pinned dark, or following a dark system. */
export function isDark(root: HTMLElement = document.documentElement): boolean {
  const pinned = root.dataset.theme;
  return pinned === "dark" || (pinned !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches);
}
const ORDER: readonly ThemeChoice[] = ["system", "light", "dark"];

/** The stored choice ("system" when none, or when storage is unavailable). */
export function readTheme(storage: Pick<Storage, "getItem"> | undefined = globalThis.localStorage): ThemeChoice {
  try {
    const value = storage?.getItem(STORAGE_KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

/** Stores `choice` and applies it to `root`. */
export function applyTheme(choice: ThemeChoice, root: HTMLElement = document.documentElement, storage: Pick<Storage, "setItem" | "removeItem"> | undefined = globalThis.localStorage): void {
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
  globalThis.dispatchEvent?.(new Event(THEME_EVENT));
  try {
    if (choice === "system") storage?.removeItem(STORAGE_KEY);
    else storage?.setItem(STORAGE_KEY, choice);
  } catch {
    // Private mode without storage: the choice holds for this page only.
  }
}

/** The choice after `choice` when the toggle is pressed: system → light → dark → system. */
export const nextTheme = (choice: ThemeChoice): ThemeChoice => ORDER[(ORDER.indexOf(choice) + 1) % ORDER.length]!;

export const themeLabel = (choice: ThemeChoice): string => (choice === "system" ? "Theme: system" : choice === "light" ? "Theme: light" : "Theme: dark");

/** The current choice and the toggle's action. */
export function useTheme(): readonly [ThemeChoice, () => void] {
  const [choice, setChoice] = useState<ThemeChoice>(() => readTheme());
  const toggle = () => {
    const next = nextTheme(choice);
    applyTheme(next);
    setChoice(next);
  };
  return [choice, toggle] as const;
}
