/**
 * Colours for the canvas, read from the CSS custom properties defined in webview.css (which map
 * VS Code's theme variables, with fallbacks for the standalone viewer). Re-read when the theme
 * changes (body class or a `theme` message).
 */
export interface Palette {
  hc: boolean;
  dark: boolean;
  bg: string;
  fg: string;
  muted: string;
  faint: string;
  grid: string;
  gridSolid: string;
  band: string;
  bandBg: string;
  grace: string;
  bandGrace: string;
  gutter: string;
  border: string;
  focus: string;
  select: string;
  red: string;
  redSoft: string;
  orange: string;
  orangeSoft: string;
  yellow: string;
  yellowSoft: string;
  green: string;
  greenSoft: string;
  blue: string;
  blueSoft: string;
  purple: string;
  purpleSoft: string;
  grey: string;
  greySoft: string;
  font: string;
  fontBold: string;
  fontSmall: string;
  mono: string;
}

let probe: CanvasRenderingContext2D | null = null;

/** Any CSS colour → [r, g, b, a] via the canvas parser. */
export function parseColor(c: string): [number, number, number, number] {
  if (!probe) {
    const cv = document.createElement('canvas');
    cv.width = cv.height = 1;
    probe = cv.getContext('2d', { willReadFrequently: true });
  }
  const p = probe!;
  p.clearRect(0, 0, 1, 1);
  p.fillStyle = '#000';
  p.fillStyle = c;
  p.fillRect(0, 0, 1, 1);
  const d = p.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2], d[3] / 255];
}

function rgba(c: [number, number, number, number], a: number): string {
  return `rgba(${c[0]},${c[1]},${c[2]},${a})`;
}

function mix(a: [number, number, number, number], b: [number, number, number, number], k: number): string {
  const m = (x: number, y: number): number => Math.round(x * (1 - k) + y * k);
  return `rgb(${m(a[0], b[0])},${m(a[1], b[1])},${m(a[2], b[2])})`;
}

export function readPalette(root: HTMLElement = document.body): Palette {
  const cs = getComputedStyle(root);
  const v = (name: string, fb: string): string => cs.getPropertyValue(name).trim() || fb;
  const cls = document.body.classList;
  const hc = cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light');
  const bgS = v('--st-bg', '#1e1e1e');
  const bg = parseColor(bgS);
  const dark = (bg[0] * 299 + bg[1] * 587 + bg[2] * 114) / 1000 < 128;
  const fg = parseColor(v('--st-fg', dark ? '#cccccc' : '#333333'));
  const soft = (name: string, fb: string): [string, string] => {
    const c = parseColor(v(name, fb));
    const solid = `rgb(${c[0]},${c[1]},${c[2]})`;
    // soft fill: the colour blended into the background (opaque, so overlaps stay readable)
    return [solid, hc ? mix(bg, c, 0.25) : mix(bg, c, dark ? 0.38 : 0.3)];
  };
  const [red, redSoft] = soft('--st-red', '#e5534b');
  const [orange, orangeSoft] = soft('--st-orange', '#d18616');
  const [yellow, yellowSoft] = soft('--st-yellow', '#cca700');
  const yel = parseColor(yellow);
  const [green, greenSoft] = soft('--st-green', '#3fa266');
  const [blue, blueSoft] = soft('--st-blue', '#3794ff');
  const [purple, purpleSoft] = soft('--st-purple', '#b180d7');
  const [grey, greySoft] = soft('--st-grey', dark ? '#8b8b8b' : '#7a7a7a');
  const family = cs.getPropertyValue('--st-font').trim() || cs.fontFamily || 'system-ui, sans-serif';
  const mono = cs.getPropertyValue('--st-mono').trim() || 'ui-monospace, monospace';
  return {
    hc,
    dark,
    bg: bgS,
    fg: rgba(fg, 1),
    muted: rgba(fg, 0.72),
    faint: rgba(fg, 0.45),
    grid: rgba(fg, hc ? 0.35 : dark ? 0.09 : 0.1),
    gridSolid: mix(bg, fg, hc ? 0.35 : dark ? 0.08 : 0.08),
    band: rgba(fg, hc ? 0 : dark ? 0.035 : 0.03),
    bandBg: mix(bg, fg, hc ? 0 : dark ? 0.03 : 0.025),
    grace: mix(bg, yel, dark ? 0.055 : 0.06),
    bandGrace: mix(parseColor(mix(bg, fg, dark ? 0.03 : 0.025)), yel, dark ? 0.055 : 0.06),
    gutter: v('--st-gutter', mix(bg, fg, dark ? 0.04 : 0.03)),
    border: v('--st-border', rgba(fg, 0.18)),
    focus: v('--st-focus', '#007fd4'),
    select: v('--st-select', dark ? '#ffffff' : '#000000'),
    red,
    redSoft,
    orange,
    orangeSoft,
    yellow,
    yellowSoft,
    green,
    greenSoft,
    blue,
    blueSoft,
    purple,
    purpleSoft,
    grey,
    greySoft,
    font: `11px ${family}`,
    fontBold: `600 11px ${family}`,
    fontSmall: `10px ${family}`,
    mono: `11px ${mono}`,
  };
}
