import { definePlugin, type Plugin } from "../plugin.ts";
import { echoTool, failTool, fanoutTool, sleepTool, stepsTool, waitSignalTool } from "./basic-tools.ts";
import { httpTool } from "./http-tool.ts";
import { shellTool } from "./shell-tool.ts";

export interface StdPluginOptions {
  /** `std.shell` runs commands only when true. */
  enableShell?: boolean;
  /** `std.steps` (writes files) runs only when true. */
  enableTestTools?: boolean;
  /** Hosts `std.http` may reach on loopback/link-local/private addresses. */
  httpAllow?: readonly string[];
}

/** The tools every endpoint ships (`std.*`). */
export function stdPlugin(opts: StdPluginOptions = {}): Plugin {
  return definePlugin({
    name: "std",
    tools: [
      echoTool,
      sleepTool,
      failTool,
      httpTool({ allow: opts.httpAllow ?? [] }),
      waitSignalTool,
      fanoutTool,
      stepsTool(opts.enableTestTools ?? false),
      shellTool(opts.enableShell ?? false),
    ],
  });
}
