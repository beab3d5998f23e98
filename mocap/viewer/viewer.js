// The built-in viewer. It connects back to the server that served this page, with the token
// from this page's own URL, draws the newest frame at each animation frame (frames that arrive
// faster than the screen refreshes are counted, not drawn), and sends dropped photos to the
// same server, which answers with the photo annotated.
"use strict";

(() => {
  // The preview window's colours (mocap/preview.py), as RGB.
  const COLOURS = {
    pose: "rgb(255, 215, 0)",
    left_hand: "rgb(0, 170, 255)",
    right_hand: "rgb(255, 60, 90)",
    face: "rgb(110, 230, 110)",
  };
  const MIN_VISIBILITY = 0.5; // pose landmarks less visible than this are likely off-screen
  const STATS_WINDOW_MS = 1000;
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
  }

  function showStats() {
    const now = performance.now();
    const arrivals = state.arrivals.filter((t) => now - t <= STATS_WINDOW_MS);
    state.arrivals = arrivals;
    $("fps").textContent = String(arrivals.length);
    $("interval").textContent = arrivals.length > 1
      ? ((arrivals[arrivals.length - 1] - arrivals[0]) / (arrivals.length - 1)).toFixed(1)
      : "–";
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

  function draw() {
    requestAnimationFrame(draw);
    const frame = state.newest;
    if (frame === state.drawn || state.connections === null) return;
    state.drawn = frame;
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

  connect();
  setInterval(showStats, STATS_WINDOW_MS / 2);
  requestAnimationFrame(draw);
})();
