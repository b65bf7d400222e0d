/** The canvas's fixed geometry (gutter, axis) and the shapes a frame is drawn from. */
import type { Model, Track } from '../model';
import type { Viewport } from '../view';
import type { Palette } from '../theme';

export let GUTTER = 196;
export const GUTTER_WIDE = 196;
export const GUTTER_NARROW = 140;
export function setGutter(w: number): void {
  GUTTER = w;
}
export const AXIS_H = 26;

export interface Box {
  tr: Track;
  i: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Frame {
  model: Model;
  view: Viewport;
  pal: Palette;
  width: number;
  height: number;
  scrollTop: number;
  selected: Box[] | null;
  evidence: { tr: Track; i: number }[];
  hover: { tr: Track; i: number } | null;
}
