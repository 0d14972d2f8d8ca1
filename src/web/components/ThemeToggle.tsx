import { themeLabel, useTheme } from "../lib/theme.ts";

/** The header's theme switch: follows the system until pressed, then pins light, then dark. */
export function ThemeToggle() {
  const [choice, toggle] = useTheme();
  return (
    <button type="button" className="secondary icon" onClick={toggle} aria-label={`${themeLabel(choice)} (change)`} title={themeLabel(choice)}>
      {choice === "system" ? "◐" : choice === "light" ? "☀" : "☾"}
    </button>
  );
}
