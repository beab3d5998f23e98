#!/usr/bin/env node
// Prints a mocap server's stream: its hello, then one line per frame; reconnects until stopped.
//
//   node subscribe.js [--host 127.0.0.1] [--port 8765] [--token TOKEN] [--frames N]
//
// Host, port and token also come from MOCAP_HOST, MOCAP_PORT and MOCAP_TOKEN (prefer the
// environment for the token: other users can read command lines). Frames and the hello go to
// stdout, connection news to stderr. Exits 0 after --frames N frames, 130 on Ctrl-C.

import { parseArgs } from "node:util";
import WebSocket from "ws";
import { MocapClient, presentParts, strongestArkit } from "./mocap-client.js";

const USAGE = "usage: node subscribe.js [--host HOST] [--port PORT] [--token TOKEN] [--frames N]";

function options() {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: process.env.MOCAP_HOST ?? "127.0.0.1" },
      port: { type: "string", default: process.env.MOCAP_PORT ?? "8765" },
      token: { type: "string", default: process.env.MOCAP_TOKEN ?? "" },
      frames: { type: "string", default: "0" },
      help: { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  const frames = Number(values.frames);
  if (values.help || !Number.isInteger(port) || port <= 0 || !Number.isInteger(frames) || frames < 0) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  return { host: values.host, port, token: values.token || null, frames };
}

/** Frames received per second over the last second, on this machine's clock. */
class RateMeter {
  constructor() {
    this.arrivals = [];
  }

  tick(nowMs) {
    this.arrivals.push(nowMs);
    while (nowMs - this.arrivals[0] > 1000) this.arrivals.shift();
    const spanMs = nowMs - this.arrivals[0];
    return spanMs > 0 ? ((this.arrivals.length - 1) * 1000) / spanMs : null;
  }
}

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

function helloLine(hello) {
  const parts = Object.entries(hello.parts).map(([part, count]) => `${part}:${count}`);
  const { width, height, fps } = hello.source;
  return `hello schema=${hello.schema} source=${width}x${height}@${fixed(fps, 1)}fps parts=${parts.join(",")}`;
}

function frameLine(frame, fps) {
  const fields = [
    `frame seq=${frame.seq}`,
    `t=${fixed(frame.t, 3)}`,
    `fps=${fixed(fps, 1)}`,
    `latency=${fixed(frame.latencyMs, 1)}ms`,
    `parts=${presentParts(frame).join(",") || "none"}`,
  ];
  // A few values: the nose in the image, the right hand's wrist, the solver's bones and smile,
  // the strongest of the face's ARKit weights.
  if (frame.pose) fields.push(`nose=(${fixed(frame.pose[0].x, 3)},${fixed(frame.pose[0].y, 3)})`);
  if (frame.rightHand) fields.push(`right_wrist=(${fixed(frame.rightHand[0].x, 3)},${fixed(frame.rightHand[0].y, 3)})`);
  if (frame.bones) fields.push(`bones=${Object.keys(frame.bones).length}`);
  if (frame.blendshapes) fields.push(`Joy=${fixed(frame.blendshapes.Joy, 2)}`);
  const strongest = strongestArkit(frame);
  if (strongest) fields.push(`arkit=${strongest[0]}:${fixed(strongest[1], 3)}`);
  return fields.join(" ");
}

function statusLine(status) {
  if (status.state === "connecting") return `connecting to ${status.url.replace(/token=[^&]*/, "token=...")}`;
  if (status.state === "open") return "connected";
  const why = [status.code && `code ${status.code}`, status.reason, status.error].filter(Boolean).join(", ");
  const retry = status.retryInMs === undefined ? "" : `; retrying in ${status.retryInMs / 1000} s`;
  return `disconnected${why ? ` (${why})` : ""}${retry}`;
}

const { host, port, token, frames } = options();
const rate = new RateMeter();
let received = 0;
const client = new MocapClient({
  host,
  port,
  token,
  WebSocket,
  tokenInHeader: true,
  onHello: (hello) => console.log(helloLine(hello)),
  onFrame: (frame) => {
    if (frames > 0 && received >= frames) return; // closing: a few more may arrive meanwhile
    received += 1;
    console.log(frameLine(frame, rate.tick(performance.now())));
    if (received === frames) client.close(); // nothing left to wait for: node exits, code 0
  },
  onStatus: (status) => console.error(statusLine(status)),
}).start();

process.on("SIGINT", () => {
  client.close();
  process.exit(130);
});
