import { GraphQLError } from 'graphql';
import { downloadUrl } from '../../attachments/files.js';
import { visibleMessages } from '../../auth/visibility.js';
import { StoredUpload } from '../../domain/attachments.js';
import { builder } from '../builder.js';

builder.scalarType('Upload', {
  description:
    'A file sent with the request, by the GraphQL multipart request spec (apollo-upload-client, urql, curl -F). Input only: the server stores it as the request arrives.',
  serialize: () => {
    throw new GraphQLError('Upload is an input type');
  },
  parseValue: (value) => {
    // Only the multipart request parser makes these: a JSON variable is never a file.
    if (value instanceof StoredUpload) return value;
    throw new GraphQLError('Upload values are files of a multipart request (the GraphQL multipart request spec)');
  },
});

export const Attachment = builder.prismaNode('Attachment', {
  select: { id: true },
  description: 'A file on a message: what it is, and a signed link to download it. Visible to whoever may see the message.',
  id: { field: 'id', description: 'The attachment ID (att_…).' },
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, message: { is: visibleMessages(viewer) } }),
  fields: (t) => ({
    filename: t.exposeString('filename', { description: 'The file name, cleaned of paths and control characters.' }),
    contentType: t.exposeString('contentType', {
      description: 'The media type sniffed from the bytes (never the one the client declared); application/octet-stream when unknown.',
    }),
    byteSize: t.exposeInt('byteSize', { description: 'Size in bytes.' }),
    checksum: t.exposeString('checksum', { description: 'SHA-256 of the bytes, as 64 hex digits.' }),
    url: t.string({
      description:
        'A signed download link, valid for one hour; it needs no Authorization header (an <img src> works) and stops working when the message or ticket is deleted.',
      select: { filename: true },
      resolve: (attachment, _args, ctx) => downloadUrl(ctx.attachments, attachment),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the file was uploaded.' }),
  }),
});

export const AttachmentInput = builder.inputType('AttachmentInput', {
  description: 'One file for a message: a file of this multipart request, or the id of an upload made with createUpload. Give exactly one.',
  fields: (t) => ({
    file: t.field({ type: 'Upload', description: 'A file of this request (GraphQL multipart request spec).' }),
    uploadId: t.id({ description: 'An upload of the caller made with createUpload whose bytes were PUT (att_…).' }),
  }),
});
