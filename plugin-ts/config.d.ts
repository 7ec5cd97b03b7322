export interface Config {
  /** Configuration of the svcgen scaffolder module. */
  svcgen?: {
    /**
     * Folders each holding template sets (one subfolder with a manifest.yaml per set), searched in
     * order before the sets built into the module. Relative folders are resolved against the
     * backend's working directory.
     * @visibility backend
     */
    templateDirs?: string[];
  };
}
