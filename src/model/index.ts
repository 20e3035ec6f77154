export * from "./errors.ts";
export * from "./limits.ts";
export * from "./process-id.ts";
export * from "./registration.ts";
export * from "./outcome.ts";
export * from "./record.ts";
export * from "./canonical.ts";
export * from "./validate.ts";
