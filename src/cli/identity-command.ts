/** `lashctl identity-key <pem>`: the `publickeyv1_…` form of an ED25519 key, for RESTATE_IDENTITY_KEYS. */
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { ExitCode, UsageError, printJson, type Command } from "./cli-support.ts";

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/**
 * Restate's request-identity key id: `publickeyv1_` + base58 of the raw 32-byte
 * ED25519 public key (what restate-server logs as `kid` when it loads the private key).
 */
export function identityKeyOf(pem: string): string {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519")
    throw new UsageError(`the key is ${key.asymmetricKeyType ?? "not asymmetric"}; Restate signs with ED25519`, "identity-key");
  const raw = Buffer.from(key.export({ format: "jwk" }).x!, "base64url");
  return `publickeyv1_${base58(raw)}`;
}

export const identityCommand: Command = {
  name: "identity-key",
  args: "<pem-file>",
  summary: "print the publickeyv1_… id of Restate's ED25519 signing key (for RESTATE_IDENTITY_KEYS)",
  options: {},
  async run(ctx, [file]) {
    let pem: string;
    try {
      pem = readFileSync(file!, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, "identity-key");
    }
    let kid: string;
    try {
      kid = identityKeyOf(pem);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${file} is not a PEM key: ${(err as Error).message}`, "identity-key");
    }
    if (ctx.json) printJson(ctx, { key: kid });
    else ctx.io.out(kid);
    return ExitCode.ok;
  },
};
