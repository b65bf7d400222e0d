/** What the loader (loader.ts) hands the preload's body (index.ts) when it starts it. */
export interface LoaderHooks {
  /** Writes the code cache if this process had none it could use; at most once, whoever calls first (a timer, the exit). */
  saveCodeCache(): void;
}
