import { definePlugin, type Plugin } from "../plugin.ts";
import { echoTool, failTool, fanoutTool, sleepTool, stepsTool, waitSignalTool } from "./basic-tools.ts";
import { httpTool } from "./http-tool.ts";
import { shellTool } from "./shell-tool.ts";

export interface StdPluginOptions {
  /** `std.shell` runs commands only when true. */
  enableShell?: boolean;
}

/** The tools every endpoint ships (`std.*`). */
export function stdPlugin(opts: StdPluginOptions = {}): Plugin {
  return definePlugin({
    name: "std",
    tools: [echoTool, sleepTool, failTool, httpTool, waitSignalTool, fanoutTool, stepsTool, shellTool(opts.enableShell ?? false)],
  });
}
