/**
 * The tool's version, from package.json: the one place it is written. Every bundle (preload,
 * CLI, extension) gets it from here; esbuild keeps only the `version` field of the JSON.
 */
import { version } from '../../package.json';

export const TOOL_VERSION: string = version;
