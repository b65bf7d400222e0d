/** The timeline model (no DOM): storage, ingest, leaks, layout, keys, labels. */
export { Model } from './model';
export { Track, K, F, KIND_NAME, type TrackType, type Lane, type HandleRec, type Row } from './track';
export { exitText, shortCommand, laneTitle, eventLabel } from './labels';
export { loadCounts, type LoadCounts } from './traffic';
