// "Load your VRM": a .vrm file chosen or dropped on the page is read here, in the browser (it
// is never sent anywhere), loaded with @pixiv/three-vrm (VRM 0.x and 1.0) and driven by the same
// pose as the mannequin (avatar.js): bones through three-vrm's normalised humanoid bones, whose
// rest pose is a T-pose with identity rotations like the solver's, and expressions by name.

import { GLTFLoader, Vector3, VRMLoaderPlugin, VRMUtils } from "./vendor.js";

// The stream names bones as Unity's HumanBodyBones; VRM names them in lowerCamelCase, and calls
// the thumb's three bones metacarpal, proximal, distal (Unity: proximal, intermediate, distal).
function vrmBoneName(unityName) {
  const thumb = unityName.match(/^(Left|Right)Thumb(Proximal|Intermediate|Distal)$/);
  const name = thumb
    ? `${thumb[1]}Thumb${{ Proximal: "Metacarpal", Intermediate: "Proximal", Distal: "Distal" }[thumb[2]]}`
    : unityName;
  return name[0].toLowerCase() + name.slice(1);
}

export class VrmLoadError extends Error {}

function parseGltf(bytes) {
  const loader = new GLTFLoader();
  loader.register((parser) => new VRMLoaderPlugin(parser));
  return new Promise((resolve, reject) => loader.parse(bytes, "", resolve, reject));
}

// The VRM in bytes (an ArrayBuffer), or VrmLoadError saying why it is not one.
async function loadVrm(bytes) {
  let gltf;
  try {
    gltf = await parseGltf(bytes);
  } catch (error) {
    const why = String(error && error.message ? error.message : error).replace(/^THREE\.\w+: /, "");
    throw new VrmLoadError(`not a VRM file (cannot read it as glTF: ${why})`);
  }
  const vrm = gltf.userData.vrm;
  if (!vrm || !vrm.humanoid) {
    throw new VrmLoadError("not a VRM file (a glTF model without VRM humanoid data)");
  }
  return vrm;
}

class VrmModel {
  // vrm: three-vrm's VRM; streamHipsRest: the solver's hips at rest (three.js's space, metres);
  // vrm1Names: VRM0 expression name -> VRM 1.0 preset name (from skeleton.json).
  constructor(vrm, streamHipsRest, vrm1Names) {
    this.vrm = vrm;
    this.vrm1Names = vrm1Names;
    this.scene = vrm.scene;
    this.version = vrm.meta && vrm.meta.metaVersion === "0" ? "0.x" : "1.0";
    // VRM 0.x models face -Z: three-vrm turns them to face +Z, and their normalised bones'
    // local x and z then point the other way.
    if (this.version === "0.x") VRMUtils.rotateVRM0(vrm);
    vrm.scene.traverse((node) => {
      node.frustumCulled = false; // skinned meshes move away from their bind-pose bounds
    });
    const hips = vrm.humanoid.getNormalizedBoneNode("hips");
    this.hipsRest = hips.position.clone();
    // The stream's hips moves are in the solver's skeleton's metres: scaled to this model's.
    this.hipsScale = streamHipsRest.y > 0 ? this.hipsRest.y / streamHipsRest.y : 1;
    this.streamHipsRest = streamHipsRest;
    this.nodes = new Map(); // stream bone name -> normalised node (null: the model has none)
    this.expressions = new Map(); // stream expression name -> the model's expression name
  }

  node(unityName) {
    if (!this.nodes.has(unityName)) {
      this.nodes.set(unityName, this.vrm.humanoid.getNormalizedBoneNode(vrmBoneName(unityName)));
    }
    return this.nodes.get(unityName);
  }

  // The model's expression for a stream's weight: VRM0 names through their VRM 1.0 preset
  // (three-vrm names both versions' presets the VRM 1.0 way), ARKit names as they are or
  // capitalised (Perfect Sync models spell them either way), any other name as it is.
  expressionName(streamName) {
    if (!this.expressions.has(streamName)) {
      const manager = this.vrm.expressionManager;
      const capitalised = streamName[0].toUpperCase() + streamName.slice(1);
      const candidates = [this.vrm1Names[streamName], streamName, capitalised];
      const found = manager && candidates.find((name) => name && manager.getExpression(name));
      this.expressions.set(streamName, found ?? null);
    }
    return this.expressions.get(streamName);
  }

  apply(pose, deltaS) {
    const flip = this.version === "0.x";
    for (const [name, rotation] of pose.rotations) {
      const node = this.node(name);
      if (!node) continue;
      node.quaternion.copy(rotation);
      if (flip) {
        node.quaternion.x = -rotation.x;
        node.quaternion.z = -rotation.z;
      }
    }
    if (pose.hips) {
      const move = pose.hips.clone().sub(this.streamHipsRest).multiplyScalar(this.hipsScale);
      if (flip) move.set(-move.x, move.y, -move.z);
      this.node("Hips").position.copy(this.hipsRest).add(move);
    }
    for (const [name, weight] of Object.entries(pose.weights)) {
      const expression = this.expressionName(name);
      if (expression && typeof weight === "number") {
        this.vrm.expressionManager.setValue(expression, weight);
      }
    }
    this.vrm.update(deltaS);
  }

  boneWorldPosition(unityName) {
    const node = this.vrm.humanoid.getRawBoneNode(vrmBoneName(unityName));
    if (!node) return null;
    this.vrm.scene.updateMatrixWorld(true);
    return node.getWorldPosition(new Vector3()).toArray();
  }
}

// A file the user chose or dropped -> VrmModel, or VrmLoadError.
export async function vrmFromFile(file, streamHipsRest, vrm1Names) {
  return new VrmModel(await loadVrm(await file.arrayBuffer()), streamHipsRest, vrm1Names);
}
