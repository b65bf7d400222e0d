/** A script for a browser page, built from a TypeScript snippet resolved from `root`. */
export function pageScript(contents: string, root: string): Promise<string>;
