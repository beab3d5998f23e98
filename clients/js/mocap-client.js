// The mocap.frame/1 WebSocket stream as plain objects, for Node (with the `ws` package) and for
// browsers (their own WebSocket). No dependencies, no Node-only APIs: a page can import it as is.

export const SCHEMA = "mocap.frame/1";

/** The stream's part names (its JSON fields, hello.parts) -> the parsed frame's properties. */
export const PARTS = {
  pose: "pose",
  pose_world: "poseWorld",
  face: "face",
  left_hand: "leftHand",
  right_hand: "rightHand",
};

/**
 * One message's JSON text -> a hello or a frame object, or null for a type this client does not
 * know (a newer server's, the viewer's photo replies). Throws SyntaxError for text that is not
 * JSON. Lenient like a client should be: unknown fields are ignored, null means absent.
 */
export function parseMessage(text) {
  const message = JSON.parse(text);
  if (message === null || typeof message !== "object" || Array.isArray(message)) return null;
  if (message.type === "hello") return parseHello(message);
  if (message.type === "frame") return parseFrame(message);
  return null;
}

/**
 * {type: "hello", schema, supported, parts: {pose: 33, ...}, source: {width, height, fps},
 *  names: {pose: [...], hand: [...]}, connections: {pose: [[a, b], ...], hand, face}}
 */
function parseHello(message) {
  const source = message.source ?? {};
  return {
    type: "hello",
    schema: message.schema ?? null,
    supported: message.schema === SCHEMA,
    parts: { ...message.parts },
    source: { width: source.width ?? null, height: source.height ?? null, fps: source.fps ?? null },
    names: { ...message.names },
    connections: { ...message.connections },
  };
}

/**
 * {type: "frame", seq, t, size: {width, height}, latencyMs,
 *  pose, poseWorld, face, leftHand, rightHand: [{x, y, z, visibility}, ...] or null,
 *  bones: {Hips: {x, y, z, w}, ...} or null, hipsPosition: {x, y, z} or null,
 *  blendshapes: {Blink: 0.1, ...} or null,
 *  arkit: {browDownLeft: 0.01, ..., noseSneerRight: 0.0} or null}
 *
 * arkit: the face's 51 ARKit blendshape weights (0..1) by ARKit name, in the stream's order
 * (the hello's names.arkit); null without a face, with [model] arkit = false on the server, or
 * from a server older than the field. With or without the solver.
 *
 * Coordinates as MediaPipe gives them (see the README): image landmarks x right, y DOWN in
 * fractions of the image; pose_world in metres, y DOWN; bones in Unity's space.
 */
function parseFrame(message) {
  const frame = {
    type: "frame",
    seq: message.seq ?? null,
    t: message.t ?? null,
    size: { width: message.size?.[0] ?? null, height: message.size?.[1] ?? null },
    latencyMs: message.latency_ms ?? null,
    bones: null,
    hipsPosition: null,
    blendshapes: isObject(message.blendshapes) ? { ...message.blendshapes } : null,
    arkit: weights(message.arkit),
  };
  for (const [part, property] of Object.entries(PARTS)) frame[property] = landmarks(message[part]);
  if (isObject(message.bones)) Object.assign(frame, parseBones(message.bones));
  return frame;
}

/** The parts found in a frame, by their stream names ("pose", "right_hand", ...). */
export function presentParts(frame) {
  return Object.entries(PARTS)
    .filter(([, property]) => frame[property] !== null)
    .map(([part]) => part);
}

/** {name: weight} keeping the numbers only (a null weight is left out); null for no object. */
function weights(value) {
  if (!isObject(value)) return null;
  return Object.fromEntries(Object.entries(value).filter(([, weight]) => typeof weight === "number"));
}

/** The largest of a frame's ARKit weights as [name, weight], or null without them. */
export function strongestArkit(frame) {
  const entries = Object.entries(frame.arkit ?? {});
  if (entries.length === 0) return null;
  return entries.reduce((best, entry) => (entry[1] > best[1] ? entry : best));
}

function landmarks(rows) {
  if (!Array.isArray(rows)) return null;
  return rows.map((row) => ({
    x: number(row?.[0]),
    y: number(row?.[1]),
    z: number(row?.[2]),
    visibility: row?.length > 3 ? number(row[3]) : null, // pose points only
  }));
}

/** {name: [x, y, z, w]} with the Hips as {rotation, position} -> quaternion objects. */
function parseBones(raw) {
  const bones = {};
  let hipsPosition = null;
  for (const [name, value] of Object.entries(raw)) {
    const rotation = quaternion(isObject(value) ? value.rotation : value);
    if (rotation) bones[name] = rotation;
    if (name === "Hips" && isObject(value) && Array.isArray(value.position)) {
      const [x, y, z] = value.position.map(number);
      hipsPosition = { x, y, z };
    }
  }
  return { bones, hipsPosition };
}

function quaternion(value) {
  if (!Array.isArray(value) || value.length !== 4) return null;
  const [x, y, z, w] = value.map(number);
  return [x, y, z, w].some(Number.isNaN) ? null : { x, y, z, w };
}

function number(value) {
  return typeof value === "number" ? value : NaN;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** ws://host:port/ with the token as ?token= (what a browser must do: it cannot set headers). */
export function streamUrl(host, port, token = null) {
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host; // IPv6
  const url = new URL(`ws://${bracketed}:${port}/`);
  if (token) url.searchParams.set("token", token);
  return url.href;
}

/**
 * Connects, parses every message, and reconnects with back-off (firstRetryMs doubling up to
 * lastRetryMs, back to firstRetryMs once a connection opens) until close().
 *
 * WebSocket: the constructor, the browser's by default; in Node pass the `ws` package's.
 * token: sent as "Authorization: Bearer" where the WebSocket takes headers (`ws`:
 *   tokenInHeader: true), otherwise as ?token= in the URL.
 * onHello(hello), onFrame(frame): each parsed message.
 * onStatus({state: "connecting" | "open" | "closed", url, code, reason, error, retryInMs}).
 */
export class MocapClient {
  constructor({
    host = "127.0.0.1",
    port = 8765,
    token = null,
    WebSocket = globalThis.WebSocket,
    tokenInHeader = false,
    firstRetryMs = 500,
    lastRetryMs = 5000,
    onHello = () => {},
    onFrame = () => {},
    onStatus = () => {},
  } = {}) {
    if (!WebSocket) throw new Error("no WebSocket here: in Node, pass the `ws` package's");
    Object.assign(this, { WebSocket, tokenInHeader, firstRetryMs, lastRetryMs });
    Object.assign(this, { onHello, onFrame, onStatus });
    this.url = streamUrl(host, port, tokenInHeader ? null : token);
    this.headers = tokenInHeader && token ? { Authorization: `Bearer ${token}` } : null;
    this.retryMs = firstRetryMs;
    this.socket = null;
    this.timer = null;
    this.stopped = false;
    this.badMessages = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, "client stopping");
  }

  connect() {
    this.onStatus({ state: "connecting", url: this.url });
    // A browser's WebSocket takes (url, protocols): pass options only to one that takes them.
    const socket = this.headers
      ? new this.WebSocket(this.url, { headers: this.headers })
      : new this.WebSocket(this.url);
    this.socket = socket;
    let error = null;
    socket.onopen = () => {
      this.retryMs = this.firstRetryMs;
      this.onStatus({ state: "open", url: this.url });
    };
    socket.onmessage = (event) => this.handle(event.data);
    // Browsers say nothing about why; `ws` says, e.g. "Unexpected server response: 401".
    socket.onerror = (event) => {
      error = event.message ?? event.error?.message ?? "connection failed";
    };
    socket.onclose = (event) => {
      if (this.stopped) return this.onStatus({ state: "closed", code: event.code, reason: event.reason });
      const retryInMs = this.retryMs;
      this.onStatus({ state: "closed", code: event.code, reason: event.reason, error, retryInMs });
      this.retryMs = Math.min(this.retryMs * 2, this.lastRetryMs);
      this.timer = setTimeout(() => this.connect(), retryInMs);
    };
  }

  handle(data) {
    if (typeof data !== "string") return; // binary: none in this schema
    let message;
    try {
      message = parseMessage(data);
    } catch {
      this.badMessages += 1;
      return;
    }
    if (message?.type === "hello") this.onHello(message);
    else if (message?.type === "frame") this.onFrame(message);
  }
}
