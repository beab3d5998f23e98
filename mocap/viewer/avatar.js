// The 3D view: a mannequin built from the solver's own rest skeleton (served as skeleton.json
// from mocap.solve.humanoid), posed by each frame's "bones" and "blendshapes", moved smoothly
// between stream frames, and drawn at the display's rate.
//
// Spaces. The stream's bones are in Unity's space: left-handed, +X right, +Y up, +Z forward,
// local rotations x, y, z, w relative to a T-pose whose rotations are all identity; the avatar
// faces +Z and its own right hand is at +X. three.js is right-handed with +Y up. The view keeps
// the avatar facing +Z and mirrors the X axis: a position (x, y, z) becomes (-x, y, z) and a
// rotation (x, y, z, w) becomes (x, -y, -z, w) (a reflection turns a rotation's axis into its
// mirror image and reverses its sense). The avatar's right hand is then at -X, as in VRM 1.0
// models, which is what three-vrm's normalised bones expect. Left stays left.
//
// Mirroring. The solver mirrors by default (raise your right hand, the avatar's LEFT hand rises,
// as VTuber apps then show it); the view shows the bones as sent. "Unmirror" reflects the pose
// across the avatar's midplane before drawing: Left and Right bones and expressions swap, each
// rotation (x, y, z, w) becomes (x, -y, -z, w) and the hips' x changes sign.

import {
  CylinderGeometry,
  DirectionalLight,
  GridHelper,
  Group,
  HemisphereLight,
  Mesh,
  MeshLambertMaterial,
  OrbitControls,
  PerspectiveCamera,
  Quaternion,
  Scene,
  SphereGeometry,
  Vector3,
  WebGLRenderer,
} from "./vendor.js";

const UP = new Vector3(0, 1, 0);
// The avatar's own sides, in the colours of the preview's hands (mocap/preview.py).
const COLOURS = { Left: 0x00aaff, Right: 0xff3c5a, centre: 0xc8c0b8, skin: 0xe0c4a8 };
// Limb radii (metres) by the part of a bone's name after its side.
const RADII = [
  [/^(Thumb|Index|Middle|Ring|Little)/, 0.008],
  [/^Hand$/, 0.018],
  [/^(Hips|Spine|Chest|UpperChest)$/, 0.075],
  [/^(Shoulder|Neck)$/, 0.035],
  [/^UpperArm$/, 0.035],
  [/^LowerArm$/, 0.03],
  [/^UpperLeg$/, 0.055],
  [/^LowerLeg$/, 0.045],
  [/^(Foot|Toes)$/, 0.03],
];
// Eyelid angle about the eye's x axis (radians): open (tilted back) and closed (over the front).
const LID_OPEN_RAD = -0.35;
const LID_CLOSED_RAD = Math.PI / 2;
const JAW_OPEN_RAD = 0.35; // how far a fully open mouth turns the jaw down
// Renderers that draw on the CPU: multisampling there halves the frame rate (measured in headless
// Chromium: animation frames every 33 ms with it, 17 ms without), so edges stay jagged instead.
const SOFTWARE_GL = /SwiftShader|llvmpipe|softpipe|Software/i;
const MIN_BLEND_MS = 5;
const MAX_BLEND_MS = 250; // a stream slower than this jumps rather than crawls

function sideOf(name) {
  return name.startsWith("Left") ? "Left" : name.startsWith("Right") ? "Right" : "";
}

// --- Unity's space to three.js's, and the unmirrored pose ------------------------------------

function positionFromUnity([x, y, z]) {
  return new Vector3(-x, y, z);
}

function rotationFromUnity([x, y, z, w]) {
  return new Quaternion(x, -y, -z, w);
}

function otherSide(name) {
  if (name.startsWith("Left")) return "Right" + name.slice(4);
  if (name.startsWith("Right")) return "Left" + name.slice(5);
  // VRM0's Blink_L / Blink_R and ARKit's ...Left / ...Right expressions
  if (name.endsWith("_L")) return name.slice(0, -1) + "R";
  if (name.endsWith("_R")) return name.slice(0, -1) + "L";
  if (name.endsWith("Left")) return name.slice(0, -4) + "Right";
  if (name.endsWith("Right")) return name.slice(0, -5) + "Left";
  return name;
}

function reflectedWeights(weights) {
  if (!weights) return weights;
  return Object.fromEntries(Object.entries(weights).map(([name, w]) => [otherSide(name), w]));
}

// A frame's pose in three.js's space: {rotations: Map name -> Quaternion, hips: Vector3 | null,
// weights: {expression: weight}} (VRM0 names and ARKit names together).
function poseFromFrame(frame, unmirror) {
  const rotations = new Map();
  let hips = null;
  for (const [name, value] of Object.entries(frame.bones)) {
    let rotation = Array.isArray(value) ? value : value.rotation;
    let position = Array.isArray(value) ? null : value.position;
    if (unmirror) {
      rotation = [rotation[0], -rotation[1], -rotation[2], rotation[3]];
      position = position && [-position[0], position[1], position[2]];
    }
    rotations.set(unmirror ? otherSide(name) : name, rotationFromUnity(rotation));
    if (position) hips = positionFromUnity(position);
  }
  const weights = { ...(frame.blendshapes || {}), ...(frame.arkit || {}) };
  return { rotations, hips, weights: unmirror ? reflectedWeights(weights) : weights };
}

// --- frame pacing: from the pose on screen to the newest frame's, over one receive interval ---

class PoseTween {
  constructor() {
    this.shown = null; // the pose drawn last
    this.from = null;
    this.to = null;
    this.startMs = 0;
    this.durationMs = 0;
  }

  // A new target, reached after durationMs (about one receive interval, so that the avatar
  // arrives as the next frame does).
  retarget(pose, nowMs, durationMs) {
    this.from = this.shown ?? pose;
    this.to = pose;
    this.startMs = nowMs;
    this.durationMs = Math.min(MAX_BLEND_MS, Math.max(MIN_BLEND_MS, durationMs));
  }

  // Whether the pose drawn at nowMs differs from the last one drawn.
  moving(nowMs) {
    return this.to !== null && (this.shown !== this.to || nowMs < this.startMs + this.durationMs);
  }

  // The pose at nowMs: each bone slerped, the hips and weights interpolated linearly.
  at(nowMs) {
    if (this.to === null) return null;
    const alpha = Math.min(1, (nowMs - this.startMs) / this.durationMs);
    const { from, to } = this;
    if (alpha === 1) {
      this.shown = to;
      return to;
    }
    const rotations = new Map();
    for (const [name, target] of to.rotations) {
      const start = from.rotations.get(name) ?? target;
      rotations.set(name, new Quaternion().slerpQuaternions(start, target, alpha));
    }
    const hips = to.hips && (from.hips ? from.hips.clone().lerp(to.hips, alpha) : to.hips);
    const weights = {};
    for (const [name, target] of Object.entries(to.weights)) {
      const start = from.weights[name];
      weights[name] = typeof start === "number" && typeof target === "number"
        ? start + (target - start) * alpha
        : target;
    }
    this.shown = { rotations, hips, weights };
    return this.shown;
  }
}

// --- the mannequin ------------------------------------------------------------------------------

function radiusOf(name) {
  const part = name.slice(sideOf(name).length);
  const found = RADII.find(([pattern]) => pattern.test(part));
  return found ? found[1] : 0.02;
}

const CYLINDER = new CylinderGeometry(1, 1, 1, 10).translate(0, 0.5, 0);
const SPHERE = new SphereGeometry(1, 16, 12);
const LID = new SphereGeometry(1, 16, 8, 0, 2 * Math.PI, 0, Math.PI / 2); // the top half

function material(colour) {
  return new MeshLambertMaterial({ color: colour });
}

const MATERIALS = {
  Left: material(COLOURS.Left),
  Right: material(COLOURS.Right),
  centre: material(COLOURS.centre),
  skin: material(COLOURS.skin),
  white: material(0xf4f4f4),
  dark: material(0x202020),
};

function limb(offset, radius, materialOfSide) {
  const length = offset.length();
  const mesh = new Mesh(CYLINDER, materialOfSide);
  mesh.scale.set(radius, length, radius);
  if (length > 0) mesh.quaternion.setFromUnitVectors(UP, offset.clone().normalize());
  return mesh;
}

function ball(radius, materialOfSide, position = new Vector3()) {
  const mesh = new Mesh(SPHERE, materialOfSide);
  mesh.scale.setScalar(radius);
  mesh.position.copy(position);
  return mesh;
}

// The head, eyes, eyelids and mouth, sized from the head's length (its tip above the joint).
function buildFace(joints, rest, tips) {
  const head = joints.get("Head");
  const length = tips.get("Head").length();
  const skull = ball(1, MATERIALS.skin, new Vector3(0, 0.4 * length, 0.067 * length));
  skull.scale.set(0.53 * length, 0.67 * length, 0.5 * length);
  head.add(skull);
  const lids = {};
  for (const side of ["Left", "Right"]) {
    const eye = joints.get(`${side}Eye`);
    const radius = 0.09 * length;
    eye.add(ball(radius, MATERIALS.white));
    eye.add(ball(0.45 * radius, MATERIALS.dark, new Vector3(0, 0, 0.7 * radius)));
    const lid = new Mesh(LID, MATERIALS.skin);
    lid.scale.setScalar(1.12 * radius);
    lid.position.copy(rest.get(`${side}Eye`));
    head.add(lid); // on the head: the lids do not follow the gaze
    lids[side] = lid;
  }
  const jaw = joints.get("Jaw");
  const chin = tips.get("Jaw");
  const jawBone = ball(1, MATERIALS.skin, chin.clone().multiplyScalar(0.5));
  jawBone.scale.set(0.3 * length, 0.15 * length, 0.25 * length);
  jaw.add(jawBone);
  const mouth = ball(1, MATERIALS.dark, new Vector3(0, -0.033 * length, 0.45 * length));
  mouth.scale.set(0.17 * length, 0.02 * length, 0.04 * length);
  head.add(mouth);
  return { lids, jaw, mouth, mouthHeight: 0.02 * length, mouthOpenHeight: 0.12 * length };
}

function clamp01(value) {
  return Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0));
}

// How open the mouth is, from the VRM0 vowels (A opens it most).
function mouthOpening(weights) {
  const w = (name) => clamp01(weights[name]);
  return Math.max(w("A"), 0.8 * w("O"), 0.6 * w("E"), 0.5 * w("U"), 0.4 * w("I"));
}

class Mannequin {
  // skeleton: skeleton.json (bones, parents, rest_positions, tip_offsets in Unity's space).
  constructor(skeleton) {
    this.root = new Group();
    this.joints = new Map();
    const rest = new Map();
    const tips = new Map();
    skeleton.bones.forEach((name, i) => {
      const joint = new Group();
      joint.name = name;
      rest.set(name, positionFromUnity(skeleton.rest_positions[i]));
      tips.set(name, positionFromUnity(skeleton.tip_offsets[i]));
      joint.position.copy(rest.get(name));
      const parent = skeleton.parents[i];
      (parent < 0 ? this.root : this.joints.get(skeleton.bones[parent])).add(joint);
      this.joints.set(name, joint);
    });
    this.rest = rest;
    for (const [name, joint] of this.joints) this.addSolids(name, joint, rest, tips);
    this.face = buildFace(this.joints, rest, tips);
    this.restJaw = this.joints.get("Jaw").quaternion.clone();
  }

  // A limb from each joint to each child joint (and to the tip of a leaf), and a ball at the
  // joint; the head's parts are built by buildFace.
  addSolids(name, joint, rest, tips) {
    if (name === "Head" || name.endsWith("Eye") || name === "Jaw") return;
    const side = sideOf(name);
    const colour = side ? MATERIALS[side] : MATERIALS.centre;
    const radius = radiusOf(name);
    const ends = joint.children.map((child) => rest.get(child.name));
    if (tips.get(name).lengthSq() > 0) ends.push(tips.get(name));
    for (const end of ends) {
      if (end.lengthSq() > 0) joint.add(limb(end, radius, colour));
    }
    joint.add(ball(radius * 1.15, colour));
  }

  // Draw a pose (PoseTween.at): rotations, the hips' place, eyelids and mouth.
  apply(pose) {
    for (const [name, rotation] of pose.rotations) {
      const joint = this.joints.get(name);
      if (joint) joint.quaternion.copy(rotation);
    }
    if (pose.hips) this.joints.get("Hips").position.copy(pose.hips);
    const w = (name) => clamp01(pose.weights[name]);
    for (const side of ["Left", "Right"]) {
      // Blink carries what both eyes share, Blink_L / Blink_R each eye's excess.
      const closed = clamp01(w("Blink") + w(side === "Left" ? "Blink_L" : "Blink_R"));
      this.face.lids[side].rotation.x = LID_OPEN_RAD + closed * (LID_CLOSED_RAD - LID_OPEN_RAD);
    }
    const opening = mouthOpening(pose.weights);
    const { mouth, mouthHeight, mouthOpenHeight } = this.face;
    mouth.scale.y = mouthHeight + opening * (mouthOpenHeight - mouthHeight);
    const jaw = this.joints.get("Jaw");
    jaw.quaternion.copy(pose.rotations.get("Jaw") ?? this.restJaw).multiply(
      new Quaternion().setFromAxisAngle(new Vector3(1, 0, 0), opening * JAW_OPEN_RAD),
    );
  }
}

// --- the scene ------------------------------------------------------------------------------

// Whether WebGL here draws on the CPU (asked of a throwaway context, released at once).
function softwareGl() {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) return false;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  const lose = gl.getExtension("WEBGL_lose_context");
  if (lose) lose.loseContext();
  return SOFTWARE_GL.test(renderer);
}

export class AvatarView {
  constructor(canvas, skeleton) {
    this.canvas = canvas;
    this.renderer = new WebGLRenderer({ canvas, antialias: !softwareGl() });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.scene = new Scene();
    this.scene.add(new HemisphereLight(0xffffff, 0x404040, 2.2));
    const sun = new DirectionalLight(0xffffff, 1.6);
    sun.position.set(1, 3, 2);
    this.scene.add(sun);
    this.scene.add(new GridHelper(4, 20, 0x888888, 0x444444));
    // In front of the avatar (which faces +Z), as VTuber apps show it.
    this.camera = new PerspectiveCamera(35, 1, 0.05, 50);
    this.camera.position.set(0, 1.0, 4.2);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.target.set(0, 0.85, 0);
    this.controls.update();
    this.changed = true; // something to draw besides the pose (set by the camera, a resize, a VRM)
    this.controls.addEventListener("change", () => {
      this.changed = true;
    });
    this.mannequin = new Mannequin(skeleton);
    this.scene.add(this.mannequin.root);
    this.tween = new PoseTween();
    this.model = null; // a loaded VRM (vrm.js), shown instead of the mannequin
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  resize() {
    const { clientWidth: width, clientHeight: height } = this.canvas;
    if (width === 0 || height === 0) return;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.changed = true;
  }

  showModel(model) {
    if (this.model) this.scene.remove(this.model.scene);
    this.model = model;
    if (model) this.scene.add(model.scene);
    this.mannequin.root.visible = model === null;
    this.changed = true;
  }

  // A frame with bones arrived; it is reached over durationMs.
  retarget(frame, unmirror, nowMs, durationMs) {
    this.tween.retarget(poseFromFrame(frame, unmirror), nowMs, durationMs);
  }

  // Draw the pose at nowMs. A still picture (the pose reached, the camera not moved, no VRM,
  // whose spring bones keep moving) is not drawn again: a stream without bones costs nothing.
  render(nowMs, deltaS) {
    const moving = this.tween.moving(nowMs);
    if (!moving && !this.changed && this.model === null) return;
    this.changed = false;
    const pose = this.tween.at(nowMs);
    if (pose) {
      this.mannequin.apply(pose);
      if (this.model) this.model.apply(pose, deltaS);
    }
    this.renderer.render(this.scene, this.camera);
  }

  // For tests and the curious: where a mannequin joint is, in three.js's world space (metres),
  // and on the canvas (CSS pixels from its top left).
  jointWorldPosition(name) {
    const joint = this.mannequin.joints.get(name);
    if (!joint) return null;
    this.mannequin.root.updateMatrixWorld(true);
    return joint.getWorldPosition(new Vector3()).toArray();
  }

  canvasPosition(worldPosition) {
    const ndc = new Vector3(...worldPosition).project(this.camera);
    return [
      ((ndc.x + 1) / 2) * this.canvas.clientWidth,
      ((1 - ndc.y) / 2) * this.canvas.clientHeight,
    ];
  }
}
