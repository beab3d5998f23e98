// The built-in viewer. It connects back to the server that served this page, with the token
// from this page's own URL, draws the newest frame's landmarks at each animation frame (frames
// that arrive faster than the screen refreshes are counted, not drawn), moves the 3D avatar
// (avatar.js) toward each frame's bones, shows the ARKit weights, and sends dropped photos to the
// same server, which answers with the photo annotated. An ES module: everything it loads comes
// from this server (vendor.js is three.js and three-vrm, built by tools/vendor_viewer.py).

import { AvatarView } from "./avatar.js";
import { VrmLoadError, vrmFromFile } from "./vrm.js";

{
  // The preview window's colours (mocap/preview.py), as RGB.
  const COLOURS = {
    pose: "rgb(255, 215, 0)",
    left_hand: "rgb(0, 170, 255)",
    right_hand: "rgb(255, 60, 90)",
    face: "rgb(110, 230, 110)",
  };
  const MIN_VISIBILITY = 0.5; // pose landmarks less visible than this are likely off-screen
  const STATS_WINDOW_MS = 1000;
  const FRAME_TIMES_KEPT = 600; // animation frames whose timing frameTimes() reports
  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 5000;
  // The image-space parts a photo reports as found; their names come from the server's hello.
  let imageParts = [];

  const $ = (id) => document.getElementById(id);
  const canvas = $("skeleton");
  const context = canvas.getContext("2d");

  // Exposed for tests and the curious: nothing here is secret beyond the page's own URL.
  const state = {
    socket: null,
    connections: null,
    newest: null,
    drawn: null,
    frames: 0,
    arrivals: [], // receive times (ms) within the last STATS_WINDOW_MS
    latencyMs: null,
    photoPending: false,
    photoName: "",
    photos: 0,
    retryMs: RETRY_FIRST_MS,
    avatar: null, // the 3D view, once skeleton.json has come
    skeleton: null,
    unmirror: false,
    model: null, // the user's VRM, when loaded
    lastAnimationMs: undefined,
    rafIntervalsMs: [], // between the last FRAME_TIMES_KEPT animation frames
    renderMs: [], // spent in each of them
  };
  window.mocapViewer = state;

  function setStatus(text, isError = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", isError);
  }

  // --- the connection ---------------------------------------------------------------------------

  function socketUrl() {
    const url = new URL("/", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const token = pageToken();
    if (token) url.search = "?token=" + encodeURIComponent(token);
    return url.href;
  }

  // The token in this page's URL. Not URLSearchParams, which reads "+" as a space: a base64
  // token pasted as it is keeps its "+" (percent-encoded ones decode as usual).
  function pageToken() {
    for (const field of location.search.slice(1).split("&")) {
      const [name, ...value] = field.split("=");
      if (name === "token" && value.length) {
        try {
          return decodeURIComponent(value.join("="));
        } catch {
          return null; // a malformed escape: no token, so the server answers 401
        }
      }
    }
    return null;
  }

  function connect() {
    const socket = new WebSocket(socketUrl());
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      state.retryMs = RETRY_FIRST_MS;
      setStatus("connected");
    };
    socket.onmessage = (event) => receive(event.data);
    socket.onclose = (event) => closed(event);
    state.socket = socket;
  }

  function closed(event) {
    state.socket = null;
    if (state.photoPending) {
      photoFinished();
      const why = event.code === 1009
        ? `too large for this server (${event.reason})`
        : "the connection closed before it came back";
      photoMessage(`${state.photoName}: ${why}`, true);
    }
    // A refused handshake (401, 403, 503) shows in the browser only as 1006.
    const why = event.code === 1006
      ? "refused or unreachable (is the token in this page's URL right?)"
      : `closed (${event.code}${event.reason ? ": " + event.reason : ""})`;
    setStatus(`disconnected: ${why}; retrying`, true);
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(RETRY_MAX_MS, state.retryMs * 2);
  }

  function receive(data) {
    if (typeof data !== "string") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === "hello") {
      state.connections = message.connections;
      imageParts = Object.keys(message.parts).filter((part) => part !== "pose_world");
      state.arkitNames = message.names && message.names.arkit;
    } else if (message.type === "frame") frameArrived(message);
    else if (message.type === "photo") photoArrived(message);
    else if (message.type === "photo_refused") photoRefused(message);
  }

  // --- frames -----------------------------------------------------------------------------------

  function frameArrived(frame) {
    const now = performance.now();
    state.frames += 1;
    state.newest = frame;
    state.arrivals.push(now);
    while (now - state.arrivals[0] > STATS_WINDOW_MS) state.arrivals.shift();
    if (typeof frame.latency_ms === "number") state.latencyMs = frame.latency_ms;
    if (state.avatar !== null && frame.bones) {
      state.avatar.retarget(frame, state.unmirror, now, receiveIntervalMs());
    }
  }

  // The mean interval between the frames received within the last STATS_WINDOW_MS.
  function receiveIntervalMs() {
    const arrivals = state.arrivals;
    if (arrivals.length < 2) return 0;
    return (arrivals[arrivals.length - 1] - arrivals[0]) / (arrivals.length - 1);
  }

  function showStats() {
    const now = performance.now();
    const arrivals = state.arrivals.filter((t) => now - t <= STATS_WINDOW_MS);
    state.arrivals = arrivals;
    $("fps").textContent = String(arrivals.length);
    $("interval").textContent = arrivals.length > 1 ? receiveIntervalMs().toFixed(1) : "–";
    // Capture-to-send latency, when the server measures it; this page cannot (no shared clock).
    $("latency").textContent = state.latencyMs === null ? "–" : `${state.latencyMs.toFixed(1)} ms`;
  }

  function present(point) {
    return point !== null && point[0] !== null && point[1] !== null
      && (point.length < 4 || point[3] === null || point[3] >= MIN_VISIBILITY);
  }

  function drawEdges(points, edges, colour, width) {
    if (!points || !edges) return;
    const [w, h] = [canvas.width, canvas.height];
    context.strokeStyle = colour;
    context.fillStyle = colour;
    context.lineWidth = width;
    context.lineCap = "round";
    context.beginPath();
    for (const [a, b] of edges) {
      const [p, q] = [points[a], points[b]];
      if (!p || !q || !present(p) || !present(q)) continue;
      context.moveTo(p[0] * w, p[1] * h);
      context.lineTo(q[0] * w, q[1] * h);
    }
    context.stroke();
  }

  function drawJoints(points, colour, radius) {
    if (!points) return;
    context.fillStyle = colour;
    for (const point of points) {
      if (!present(point)) continue;
      context.beginPath();
      context.arc(point[0] * canvas.width, point[1] * canvas.height, radius, 0, 2 * Math.PI);
      context.fill();
    }
  }

  // Each animation frame: the avatar (which moves between stream frames) and, when a new frame
  // has come, the landmarks and the ARKit bars.
  function animate(nowMs) {
    requestAnimationFrame(animate);
    const started = performance.now();
    if (state.lastAnimationMs !== undefined) {
      keep(state.rafIntervalsMs, nowMs - state.lastAnimationMs);
      if (state.avatar !== null) state.avatar.render(started, (nowMs - state.lastAnimationMs) / 1000);
    }
    state.lastAnimationMs = nowMs;
    const frame = state.newest;
    if (frame !== state.drawn && state.connections !== null) {
      state.drawn = frame;
      drawLandmarks(frame);
      showAvatarMessage(frame);
      showArkit(frame.arkit);
    }
    keep(state.renderMs, performance.now() - started);
  }

  function keep(list, value) {
    list.push(value);
    if (list.length > FRAME_TIMES_KEPT) list.shift();
  }

  function percentile(values, fraction) {
    if (!values.length) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
  }

  // For tests and the curious: the page's own frame times over the last FRAME_TIMES_KEPT
  // animation frames (interval between them, and the time spent drawing each).
  state.frameTimes = () => ({
    frames: state.rafIntervalsMs.length,
    interval_ms_p50: percentile(state.rafIntervalsMs, 0.5),
    interval_ms_p95: percentile(state.rafIntervalsMs, 0.95),
    render_ms_p50: percentile(state.renderMs, 0.5),
    render_ms_p95: percentile(state.renderMs, 0.95),
  });

  function drawLandmarks(frame) {
    const [width, height] = frame.size;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.fillStyle = "#000";
    context.fillRect(0, 0, width, height);
    const line = Math.max(2, Math.round(Math.min(width, height) / 200));
    const edges = state.connections;
    drawEdges(frame.face, edges.face, COLOURS.face, Math.max(1, line / 2));
    drawEdges(frame.pose, edges.pose, COLOURS.pose, line);
    drawJoints(frame.pose, COLOURS.pose, line);
    for (const hand of ["left_hand", "right_hand"]) {
      drawEdges(frame[hand], edges.hand, COLOURS[hand], line);
      drawJoints(frame[hand], COLOURS[hand], line * 0.75);
    }
  }

  // --- the photo panel --------------------------------------------------------------------------

  function photoMessage(text, isError = false) {
    $("photo-message").textContent = text;
    $("photo-message").classList.toggle("error", isError);
  }

  function photoFinished() {
    state.photoPending = false;
    $("photo-input").disabled = false;
  }

  function uploadPhoto(bytes, name) {
    if (state.socket === null || state.socket.readyState !== WebSocket.OPEN) {
      photoMessage("Not connected to the mocap server.", true);
      return;
    }
    if (state.photoPending) {
      photoMessage(`Still working on ${state.photoName}.`, true);
      return;
    }
    state.photoPending = true;
    state.photoName = name;
    $("photo-input").disabled = true;
    photoMessage(`Sending ${name} (${Math.ceil(bytes.byteLength / 1024)} kB)…`);
    state.socket.send(bytes);
  }
  state.uploadPhoto = uploadPhoto;

  function sendFile(file) {
    if (file) file.arrayBuffer().then((bytes) => uploadPhoto(bytes, file.name));
  }

  function photoArrived(message) {
    photoFinished();
    state.photos += 1;
    const found = imageParts.filter((part) => message[part] !== null).map((p) => p.replace("_", " "));
    const [width, height] = message.size;
    photoMessage(
      `${state.photoName}: ${width}x${height} px; found ${found.join(", ") || "nobody"}.`,
    );
    $("photo-result").src = message.image;
    $("photo-result").hidden = false;
    const { image: _image, ...landmarks } = message;
    $("photo-json").textContent = JSON.stringify(landmarks);
    $("photo-details").hidden = false;
  }

  function photoRefused(message) {
    photoFinished();
    photoMessage(`${state.photoName}: refused: ${message.reason}`, true);
    $("photo-result").hidden = true;
    $("photo-details").hidden = true;
  }

  const drop = $("drop");
  $("photo-input").addEventListener("change", (event) => {
    sendFile(event.target.files[0]);
    event.target.value = ""; // the same file chosen again is a new upload
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    sendFile(event.dataTransfer.files[0]);
  });

  // --- the 3D view ------------------------------------------------------------------------------

  function showAvatarMessage(frame) {
    const message = $("avatar-message");
    const noBones = !frame.bones;
    if (noBones === !message.hidden) return;
    message.hidden = !noBones;
    message.replaceChildren(
      "This stream carries no bones, so the avatar stands still. Start mocap with ",
      code("--solve"), " (or an avatar output, ", code("--vmc HOST"),
      ") to see the solved avatar: for example ", code("mocap run --camera 0 --solve"), ".",
    );
  }

  function code(text) {
    const element = document.createElement("code");
    element.textContent = text;
    return element;
  }

  $("unmirror").addEventListener("change", (event) => {
    state.unmirror = event.target.checked;
    if (state.avatar !== null && state.newest && state.newest.bones) {
      state.avatar.retarget(state.newest, state.unmirror, performance.now(), receiveIntervalMs());
    }
  });

  // For tests and the curious: where a joint is (three.js's world space, metres; the avatar
  // faces +Z and its right hand is at -X) and where it shows on the 3D canvas (CSS pixels).
  state.jointWorldPosition = (name) => state.avatar && state.avatar.jointWorldPosition(name);
  state.jointCanvasPosition = (name) => {
    const position = state.jointWorldPosition(name);
    return position && state.avatar.canvasPosition(position);
  };
  state.vrmBoneWorldPosition = (name) => state.model && state.model.boneWorldPosition(name);

  function startAvatar(skeleton) {
    state.skeleton = skeleton;
    state.avatar = new AvatarView($("avatar"), skeleton);
  }

  // --- the user's VRM ---------------------------------------------------------------------------

  function vrmMessage(text, isError = false) {
    $("vrm-message").textContent = text;
    $("vrm-message").classList.toggle("error", isError);
  }

  async function loadModel(file) {
    if (!file || state.avatar === null) return;
    vrmMessage(`Loading ${file.name}…`);
    try {
      const hips = state.avatar.mannequin.rest.get("Hips");
      const model = await vrmFromFile(file, hips, state.skeleton.vrm1_expressions);
      state.model = model;
      state.avatar.showModel(model);
      vrmMessage(`${file.name}: VRM ${model.version}`);
      $("vrm-remove").hidden = false;
    } catch (error) {
      const why = error instanceof VrmLoadError ? error.message : `cannot load it (${error})`;
      vrmMessage(`${file.name}: ${why}`, true);
    }
  }

  $("vrm-input").addEventListener("change", (event) => {
    loadModel(event.target.files[0]);
    event.target.value = "";
  });
  const vrmDrop = $("vrm-drop");
  vrmDrop.addEventListener("dragover", (event) => {
    event.preventDefault();
    vrmDrop.classList.add("over");
  });
  vrmDrop.addEventListener("dragleave", () => vrmDrop.classList.remove("over"));
  vrmDrop.addEventListener("drop", (event) => {
    event.preventDefault();
    vrmDrop.classList.remove("over");
    loadModel(event.dataTransfer.files[0]);
  });
  $("vrm-remove").addEventListener("click", () => {
    state.model = null;
    state.avatar.showModel(null);
    $("vrm-remove").hidden = true;
    vrmMessage("");
  });

  // --- the ARKit weights ------------------------------------------------------------------------

  // One bar (a <meter>) per ARKit name, built once the names are known (the hello's, or the
  // first frame's); frames without a face (arkit null) leave the bars empty.
  function showArkit(arkit) {
    if (arkit === undefined) return; // a stream without the field (the model off, an old mocap)
    const bars = $("arkit-bars");
    if (arkit !== null && !bars.childElementCount) buildArkitBars(state.arkitNames || Object.keys(arkit));
    $("arkit-message").textContent = arkit === null ? "no face in this frame" : "";
    for (const meter of bars.querySelectorAll("meter")) {
      const weight = arkit === null ? 0 : arkit[meter.dataset.name];
      meter.value = typeof weight === "number" ? weight : 0;
      meter.title = `${meter.dataset.name} ${meter.value.toFixed(2)}`;
    }
  }

  function buildArkitBars(names) {
    const bars = $("arkit-bars");
    for (const name of names) {
      const label = document.createElement("label");
      const meter = document.createElement("meter");
      meter.min = 0;
      meter.max = 1;
      meter.dataset.name = name;
      label.append(name, meter);
      bars.append(label);
    }
  }

  connect();
  setInterval(showStats, STATS_WINDOW_MS / 2);
  fetch("skeleton.json")
    .then((response) => response.json())
    .then(startAvatar)
    .catch((error) => setStatus(`the 3D view could not start: ${error}`, true));
  requestAnimationFrame(animate);
}
