// Linked Data Signatures (RsaSignature2017) made by Fedify, an implementation independent of fedigen's
// (Fedify hashes with jsonld.js + rdf-canonize; fedigen with pyld). fedigen's tests sign their fixtures
// with it so that fedigen's verifier is checked against someone else's signer, not against itself.
//
// Usage: node_modules/.bin/node ldsign.mjs < request.json > signed.json
//
// request.json: {"documents": {name: document}, "private_key_pem": PKCS#8 PEM, "key_id": url,
//                "created": ISO 8601 instant, "extra_contexts": {url: context document}}
// Output: {name: signed document}
//
// Contexts come from Fedify's preloaded set (the same published documents fedigen bundles) and from
// extra_contexts; any other URL is an error: nothing is fetched.

import { Temporal } from "@js-temporal/polyfill";
import { signJsonLd } from "@fedify/fedify/sig";
import { preloadedContexts } from "@fedify/vocab-runtime";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const extra = request.extra_contexts ?? {};
async function contextLoader(url) {
  const document = extra[url] ?? preloadedContexts[url];
  if (document === undefined) throw new Error(`ldsign.mjs: no context ${url} (nothing is fetched)`);
  return { contextUrl: null, documentUrl: url, document };
}

const der = Buffer.from(
  request.private_key_pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""),
  "base64",
);
const privateKey = await crypto.subtle.importKey(
  "pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"],
);
const created = Temporal.Instant.from(request.created);
const out = {};
for (const [name, document] of Object.entries(request.documents)) {
  out[name] = await signJsonLd(document, privateKey, new URL(request.key_id), { contextLoader, created });
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
