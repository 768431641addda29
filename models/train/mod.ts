/**
 * The training kit every example shares: flags (`runExample`, `parseFlags`), a progress line
 * (`Progress`), metric history and loss CSV (`History`, `TrainLog`), and checkpoints with exact
 * resume (`CheckpointManager`).
 * @module
 */
export * from "./flags.ts";
export * from "./progress.ts";
export * from "./history.ts";
export * from "./checkpoint.ts";
export * from "./run.ts";
