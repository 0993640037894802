/**
 * Encrypted attachments, as the spec's "Sending encrypted attachments" describes: each file
 * gets its own random AES-256 key and a random 64-bit IV prefix whose 64-bit block counter
 * starts at zero (AES-CTR), and the event carries the key (as a JWK), the IV and the SHA-256 of
 * the ciphertext. Receivers check that hash before decrypting, so a server cannot swap the
 * bytes. WebCrypto only; nothing here touches the network or the DOM.
 *
 * @module
 */

/** The key of an encrypted attachment, as a JSON Web Key. */
export interface AttachmentKey {
  kty: "oct";
  key_ops: string[];
  alg: "A256CTR";
  /** URL-safe unpadded base64 of the 32-byte key. */
  k: string;
  ext: true;
}

/** The spec's `EncryptedFile`: where the ciphertext is and how to decrypt it. */
export interface EncryptedFile {
  url: string;
  key: AttachmentKey;
  /** Unpadded base64 of the 16-byte counter block. */
  iv: string;
  hashes: { sha256: string } & Record<string, string>;
  v: "v2";
}

/** An encrypted attachment before upload: the ciphertext and everything but its `url`. */
export interface EncryptedAttachment {
  ciphertext: Uint8Array<ArrayBuffer>;
  info: Omit<EncryptedFile, "url">;
}

/** Why an attachment could not be decrypted. */
export type AttachmentErrorCode = "hash_mismatch" | "bad_file_info" | "decrypt_failed";

/** An attachment that must not be shown: altered, or described wrongly. */
export class AttachmentError extends Error {
  readonly code: AttachmentErrorCode;
  constructor(code: AttachmentErrorCode, message: string) {
    super(message);
    this.name = "AttachmentError";
    this.code = code;
  }
}

const AES_CTR = "AES-CTR";
/** Bits of the counter block that count blocks (v2: the low 64). */
const COUNTER_BITS = 64;

/** Encrypts `plaintext` with a fresh key and IV. */
export async function encryptAttachment(
  plaintext: BufferSource,
): Promise<EncryptedAttachment> {
  const iv = new Uint8Array(16);
  // The high 64 bits are random; the low 64 bits (the block counter) start at zero.
  crypto.getRandomValues(iv.subarray(0, 8));
  const key = await crypto.subtle.generateKey({ name: AES_CTR, length: 256 }, true, [
    "encrypt",
    "decrypt",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: AES_CTR, counter: iv, length: COUNTER_BITS },
      key,
      plaintext,
    ),
  );
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", ciphertext));
  return {
    ciphertext,
    info: {
      key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: jwk.k!, ext: true },
      iv: encodeUnpaddedBase64(iv),
      hashes: { sha256: encodeUnpaddedBase64(digest) },
      v: "v2",
    },
  };
}

/**
 * Decrypts an attachment after checking the SHA-256 of `ciphertext` against the one the event
 * names; throws {@link AttachmentError} when the hash differs or the description is unusable.
 */
export async function decryptAttachment(
  ciphertext: BufferSource,
  file: Omit<EncryptedFile, "url">,
): Promise<ArrayBuffer> {
  const expected = typeof file?.hashes?.sha256 === "string" ? file.hashes.sha256 : null;
  if (!expected) throw new AttachmentError("bad_file_info", "The file has no SHA-256 hash");
  if (file.v !== "v2") {
    throw new AttachmentError("bad_file_info", `Unsupported attachment version ${file.v}`);
  }
  const jwk = file.key;
  if (
    jwk?.kty !== "oct" || jwk.alg !== "A256CTR" || typeof jwk.k !== "string" ||
    !Array.isArray(jwk.key_ops) || !jwk.key_ops.includes("decrypt")
  ) {
    throw new AttachmentError("bad_file_info", "The file's key is not an A256CTR key");
  }
  let iv: Uint8Array<ArrayBuffer>;
  try {
    iv = decodeBase64(file.iv);
  } catch {
    throw new AttachmentError("bad_file_info", "The file's IV is not base64");
  }
  if (iv.length !== 16) throw new AttachmentError("bad_file_info", "The file's IV is not 16 bytes");

  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", ciphertext));
  if (encodeUnpaddedBase64(digest) !== expected.replace(/=+$/, "")) {
    throw new AttachmentError("hash_mismatch", "The file's SHA-256 does not match its event");
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "jwk",
      { kty: "oct", k: jwk.k, alg: "A256CTR", ext: true, key_ops: ["encrypt", "decrypt"] },
      { name: AES_CTR },
      false,
      ["decrypt"],
    );
  } catch {
    throw new AttachmentError("bad_file_info", "The file's key cannot be imported");
  }
  try {
    return await crypto.subtle.decrypt(
      { name: AES_CTR, counter: iv, length: COUNTER_BITS },
      key,
      ciphertext,
    );
  } catch {
    throw new AttachmentError("decrypt_failed", "The file could not be decrypted");
  }
}

/** Unpadded standard base64 (the spec's encoding for `iv` and `hashes`). */
export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/=+$/, "");
}

/** Decodes standard or URL-safe base64, padded or not. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  const padded = standard + "=".repeat((4 - standard.length % 4) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
