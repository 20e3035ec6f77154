/** Child-process entry: serves `BareWorkflow` on 127.0.0.1:PORT (SIGUSR2 windows as in lash-endpoint.ts). */
import { bareWorkflow } from "./bare-workflow.ts";
import { installBenchControl } from "./lib/bench-control.ts";
import { serveLocal } from "./lib/serve-local.ts";

installBenchControl("bare");
await serveLocal([bareWorkflow], Number(process.env.PORT));
