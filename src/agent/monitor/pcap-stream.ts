// The classic pcap file format as a stream (what `tcpdump -w -` writes): a 24-byte global header, then records of
// a 16-byte header and the captured bytes. Chunks from a pipe split records anywhere, so the reader keeps the
// unfinished tail and hands out whole records only. Both byte orders and the nanosecond variant are read.

export interface PcapRecord {
  /** Capture time, ms since the epoch (sub-millisecond digits kept). */
  readonly timeMs: number;
  /** The link-layer type of the stream's global header (239: NFLOG). */
  readonly linkType: number;
  readonly data: Buffer;
}

const GLOBAL_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;
const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;

export class PcapFormatError extends Error {}

interface StreamHeader {
  readonly littleEndian: boolean;
  readonly nanoseconds: boolean;
  readonly snapLength: number;
  readonly linkType: number;
}

export interface PcapReader {
  /** Whole records completed by this chunk; throws PcapFormatError on a stream that is not pcap. */
  push(chunk: Buffer): PcapRecord[];
  /** Bytes held back, waiting for the rest of a record. */
  readonly pending: number;
}

/** A reader of one pcap stream. `maxRecordLength` bounds what a broken length field can make it hold. */
export function pcapReader(maxRecordLength = 65_535): PcapReader {
  let buffered: Buffer = Buffer.alloc(0);
  let header: StreamHeader | undefined;
  return {
    get pending() {
      return buffered.length;
    },
    push(chunk) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const records: PcapRecord[] = [];
      let offset = 0;
      if (!header) {
        if (buffered.length < GLOBAL_HEADER_LENGTH) return records;
        header = streamHeader(buffered);
        offset = GLOBAL_HEADER_LENGTH;
      }
      const read32 = (at: number) => (header!.littleEndian ? buffered.readUInt32LE(at) : buffered.readUInt32BE(at));
      while (buffered.length - offset >= RECORD_HEADER_LENGTH) {
        const capturedLength = read32(offset + 8);
        if (capturedLength > Math.max(maxRecordLength, header.snapLength)) {
          throw new PcapFormatError(`pcap record of ${capturedLength} bytes, over the snapshot length ${header.snapLength}: the stream is corrupt`);
        }
        const end = offset + RECORD_HEADER_LENGTH + capturedLength;
        if (buffered.length < end) break;
        const seconds = read32(offset);
        const fraction = read32(offset + 4);
        records.push({
          timeMs: seconds * 1000 + (header.nanoseconds ? fraction / 1e6 : fraction / 1e3),
          linkType: header.linkType,
          // A copy: the records outlive this chunk, which is dropped at once.
          data: Buffer.from(buffered.subarray(offset + RECORD_HEADER_LENGTH, end)),
        });
        offset = end;
      }
      buffered = buffered.subarray(offset);
      return records;
    },
  };
}

function streamHeader(bytes: Buffer): StreamHeader {
  const little = bytes.readUInt32LE(0);
  const big = bytes.readUInt32BE(0);
  const littleEndian = little === MAGIC_MICROSECONDS || little === MAGIC_NANOSECONDS;
  if (!littleEndian && big !== MAGIC_MICROSECONDS && big !== MAGIC_NANOSECONDS) {
    throw new PcapFormatError(`not a pcap stream: magic number 0x${big.toString(16).padStart(8, '0')}`);
  }
  const magic = littleEndian ? little : big;
  const read32 = (at: number) => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  return { littleEndian, nanoseconds: magic === MAGIC_NANOSECONDS, snapLength: read32(16), linkType: read32(20) & 0x0fff_ffff };
}
