#!/usr/bin/env node
// The `lashctl` executable (package.json `bin`): always runs; tests import ./lashctl.ts instead.
import { main } from "./lashctl.ts";

await main();
