// parseMessage on a recorded stream (the Unity client's test data: a hello and four frames as a
// client received them from `mocap replay --solve`, with the face's ARKit weights that MediaPipe's
// FaceLandmarker gives on the same video frames) and on what another server might send.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseMessage, presentParts, streamUrl, strongestArkit } from "../mocap-client.js";

const STREAM = new URL("../../unity/Tests/data/stream.jsonl", import.meta.url);
const [hello, ...frames] = readFileSync(STREAM, "utf8").trim().split("\n").map(parseMessage);

test("the hello describes the stream", () => {
  assert.equal(hello.type, "hello");
  assert.equal(hello.supported, true);
  assert.deepEqual(hello.parts, { pose: 33, pose_world: 33, face: 478, left_hand: 21, right_hand: 21 });
  assert.deepEqual(hello.source, { width: 1280, height: 720, fps: 25 });
  assert.equal(hello.names.pose[0], "nose");
});

test("frames carry landmarks, bones and blendshapes; absent parts are null", () => {
  assert.equal(frames.length, 4);
  for (const frame of frames) {
    assert.deepEqual(frame.size, { width: 1280, height: 720 });
    assert.equal(frame.pose.length, 33);
    assert.equal(frame.face.length, 478);
    assert.equal(frame.leftHand, null);
    assert.ok(frame.pose.every((p) => p.visibility >= 0 && p.visibility <= 1));
    assert.equal(frame.face[0].visibility, null);
    assert.equal(Object.keys(frame.bones).length, 55);
    for (const { x, y, z, w } of Object.values(frame.bones)) {
      assert.ok(Math.abs(Math.hypot(x, y, z, w) - 1) < 1e-4);
    }
    assert.ok(frame.hipsPosition.y > 0.8);
    assert.ok(Object.values(frame.blendshapes).every((weight) => weight >= 0 && weight <= 1));
  }
  assert.deepEqual(presentParts(frames[0]), ["pose", "pose_world", "face"]);
  assert.deepEqual(presentParts(frames[3]), ["pose", "pose_world", "face", "right_hand"]);
});

test("frames carry the face's 51 ARKit weights by name, in the hello's order", () => {
  assert.equal(hello.names.arkit.length, 51);
  assert.equal(hello.names.arkit[0], "browDownLeft");
  const raw = JSON.parse(readFileSync(STREAM, "utf8").trim().split("\n")[4]).arkit;
  for (const frame of frames) {
    assert.deepEqual(Object.keys(frame.arkit), hello.names.arkit);
    assert.ok(Object.values(frame.arkit).every((weight) => weight >= 0 && weight <= 1));
  }
  assert.deepEqual(frames[3].arkit, raw);
  // The person squints throughout: eyeSquintRight (0.48) is the last frame's largest weight.
  assert.deepEqual(strongestArkit(frames[3]), ["eyeSquintRight", raw.eyeSquintRight]);
  assert.ok(frames[3].arkit.mouthSmileLeft > 0.2);
});

test("lenient: unknown types, unknown fields, nulls and malformed bones", () => {
  assert.equal(parseMessage('{"type":"photo"}'), null);
  assert.equal(parseMessage("[1]"), null);
  assert.throws(() => parseMessage("{"), SyntaxError);
  const frame = parseMessage(
    '{"type":"frame","seq":2,"new":{"x":1},"pose":null,"face":[[0.5,null,0.1]],' +
      '"bones":{"Hips":[0,0,0,1],"Head":null,"Neck":[1,2]},"blendshapes":null}',
  );
  assert.equal(frame.seq, 2);
  assert.equal(frame.pose, null);
  assert.ok(Number.isNaN(frame.face[0].y));
  assert.deepEqual(frame.bones, { Hips: { x: 0, y: 0, z: 0, w: 1 } });
  assert.equal(frame.hipsPosition, null);
  assert.equal(frame.blendshapes, null);
  assert.equal(frame.arkit, null); // not sent
  assert.equal(strongestArkit(frame), null);
  const partial = parseMessage('{"type":"frame","arkit":{"jawOpen":0.5,"eyeBlinkLeft":null}}');
  assert.deepEqual(partial.arkit, { jawOpen: 0.5 });
  assert.equal(parseMessage('{"type":"frame","arkit":null}').arkit, null);
});

test("the token goes in the URL, escaped", () => {
  assert.equal(streamUrl("127.0.0.1", 8765), "ws://127.0.0.1:8765/");
  assert.equal(streamUrl("::1", 8765, "a b&c"), "ws://[::1]:8765/?token=a+b%26c");
});
