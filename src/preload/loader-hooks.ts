/** What the loader (loader.ts) hands the preload's body (index.ts) when it starts it. */
export interface LoaderHooks {
  /** Writes the code cache if this process had none it could use. Called once, at exit. */
  saveCodeCache(): void;
}
