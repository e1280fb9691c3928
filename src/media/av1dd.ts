/**
 * Just enough of the AV1 dependency descriptor RTP header extension (AV1 RTP specification, appendix A, "Dependency
 * Descriptor RTP Header Extension") to learn an SVC stream's layers: each packet's spatial and temporal id (from its
 * frame dependency template) and each spatial layer's render resolution (from the template dependency structure a
 * sender attaches to keyframes, `render_resolutions()`), as jitsi-videobridge's `Av1DependencyDescriptorReader` does.
 *
 * The structure persists between packets: {@link DependencyDescriptorReader} keeps the latest one.
 */

/** What one packet's dependency descriptor tells. */
export interface DependencyDescriptorInfo {
  startOfFrame: boolean;
  endOfFrame: boolean;
  frameNumber: number;
  spatialId: number;
  temporalId: number;
  /** This packet carried a template dependency structure (a keyframe's first packet). */
  newStructure: boolean;
  /** Render height of each spatial layer (index = spatial id), when the structure carries resolutions, px. */
  heights?: number[];
  /** Render width of each spatial layer, px. */
  widths?: number[];
}

/** A template dependency structure: the layers of each template, and the resolutions when present. */
interface Structure {
  templateIdOffset: number;
  spatial: number[];
  temporal: number[];
  widths?: number[];
  heights?: number[];
}

/** MSB-first bit reader (the descriptor's `f(n)` and `ns(n)`). */
class Bits {
  #pos = 0;
  readonly #data: Uint8Array;

  constructor(data: Uint8Array) {
    this.#data = data;
  }

  /** `f(n)`; throws past the end. */
  f(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#data[this.#pos >> 3];
      if (byte === undefined) throw new RangeError('dependency descriptor truncated');
      v = v * 2 + ((byte >> (7 - (this.#pos & 7))) & 1);
      this.#pos++;
    }
    return v;
  }

  /** `ns(n)`: non-symmetric unsigned value below n. */
  ns(n: number): number {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    const v = this.f(w - 1);
    if (v < m) return v;
    return (v << 1) - m + this.f(1);
  }
}

/** Reads dependency descriptors of one stream, keeping its latest template dependency structure. */
export class DependencyDescriptorReader {
  #structure: Structure | undefined;

  /**
   * Parse one packet's descriptor.
   * @returns undefined when it cannot be read: truncated, or its template needs a structure not seen yet.
   */
  read(data: Uint8Array): DependencyDescriptorInfo | undefined {
    if (data.length < 3) return undefined;
    try {
      const bits = new Bits(data);
      const startOfFrame = bits.f(1) === 1;
      const endOfFrame = bits.f(1) === 1;
      const templateId = bits.f(6);
      const frameNumber = bits.f(16);
      let newStructure = false;
      if (data.length > 3) {
        const structurePresent = bits.f(1) === 1;
        bits.f(1); // active_decode_targets_present_flag (its mask follows the structure)
        bits.f(3); // custom dtis / fdiffs / chains
        if (structurePresent) {
          this.#structure = readStructure(bits);
          newStructure = true;
        }
      }
      const s = this.#structure;
      if (!s) return undefined;
      const index = (templateId + 64 - s.templateIdOffset) % 64;
      const spatialId = s.spatial[index];
      const temporalId = s.temporal[index];
      if (spatialId === undefined || temporalId === undefined) return undefined;
      return {
        startOfFrame,
        endOfFrame,
        frameNumber,
        spatialId,
        temporalId,
        newStructure,
        ...(s.heights && s.widths ? { heights: s.heights, widths: s.widths } : {}),
      };
    } catch {
      return undefined;
    }
  }
}

/** `template_dependency_structure()`, up to and including `render_resolutions()`. */
function readStructure(bits: Bits): Structure {
  const templateIdOffset = bits.f(6);
  const dtCount = bits.f(5) + 1;
  // template_layers()
  const spatial: number[] = [];
  const temporal: number[] = [];
  let spatialId = 0;
  let temporalId = 0;
  for (;;) {
    spatial.push(spatialId);
    temporal.push(temporalId);
    const next = bits.f(2);
    if (next === 3) break;
    if (next === 1) temporalId++;
    else if (next === 2) {
      temporalId = 0;
      spatialId++;
    }
    if (spatial.length > 64) throw new RangeError('too many templates');
  }
  const templates = spatial.length;
  // template_dtis()
  for (let t = 0; t < templates; t++) for (let d = 0; d < dtCount; d++) bits.f(2);
  // template_fdiffs()
  for (let t = 0; t < templates; t++) {
    while (bits.f(1) === 1) bits.f(4);
  }
  // template_chains()
  const chains = bits.ns(dtCount + 1);
  if (chains > 0) {
    for (let d = 0; d < dtCount; d++) bits.ns(chains);
    for (let t = 0; t < templates; t++) for (let c = 0; c < chains; c++) bits.f(4);
  }
  // decode_target_layers() reads nothing; then resolutions.
  const structure: Structure = { templateIdOffset, spatial, temporal };
  if (bits.f(1) === 1) {
    const widths: number[] = [];
    const heights: number[] = [];
    for (let s = 0; s <= spatialId; s++) {
      widths.push(bits.f(16) + 1);
      heights.push(bits.f(16) + 1);
    }
    structure.widths = widths;
    structure.heights = heights;
  }
  return structure;
}
