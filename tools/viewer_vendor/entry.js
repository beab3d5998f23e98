// What the viewer (mocap/viewer/avatar.js, vrm.js) imports from three.js and @pixiv/three-vrm:
// tools/vendor_viewer.py bundles exactly these into mocap/viewer/vendor.js (esbuild tree-shakes
// the rest away).
export {
  CylinderGeometry,
  DirectionalLight,
  GridHelper,
  Group,
  HemisphereLight,
  Mesh,
  MeshLambertMaterial,
  PerspectiveCamera,
  Quaternion,
  Scene,
  SphereGeometry,
  Vector3,
  WebGLRenderer,
} from "three";
export { OrbitControls } from "three/addons/controls/OrbitControls.js";
export { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
export { VRMLoaderPlugin, VRMUtils } from "@pixiv/three-vrm";
