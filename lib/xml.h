/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * The one file that speaks libxml2 (lib/xml.c), opened on first use (lib/dl.h): libxml2 pulls
 * libicu in, which no command but the ones that build XML should pay for.
 *
 * Documents are parsed without network access, without entity substitution and without
 * loading a DTD: templates are data a person edits, not something to trust with the network.
 * Nodes are element nodes only; they belong to their document and die with it.
 */
struct gpv_xml_doc;
struct gpv_xml_node;

/* Where parsing failed: the 1-based line (0 when unknown) and libxml2's message. */
struct gpv_xml_error {
	int line;
	char message[256];
};

/* Parses a file, or len bytes at buf (name labels it in errors). On success *ret is owned by the
 * caller (gpv_xml_free()). -EINVAL on malformed XML with *err filled in (err may be NULL);
 * -EOPNOTSUPP when libxml2 cannot be loaded; -errno when the file cannot be read. */
int gpv_xml_parse_file(const char *path, struct gpv_xml_doc **ret, struct gpv_xml_error *err);
int gpv_xml_parse_memory(const char *buf, size_t len, const char *name, struct gpv_xml_doc **ret,
	struct gpv_xml_error *err);
/* A new document with an empty root element. *ret is owned by the caller. */
int gpv_xml_new(const char *root_name, struct gpv_xml_doc **ret);
/* A deep copy. *ret is owned by the caller. */
int gpv_xml_copy(const struct gpv_xml_doc *doc, struct gpv_xml_doc **ret);
/* NULL-safe; returns NULL. */
struct gpv_xml_doc *gpv_xml_free(struct gpv_xml_doc *doc);

/* Pointers into doc: valid until the node is removed or the document freed. */
struct gpv_xml_node *gpv_xml_root(struct gpv_xml_doc *doc);
/* The element's local name, and its namespace URI (NULL when it has none). */
const char *gpv_xml_name(const struct gpv_xml_node *node);
const char *gpv_xml_ns(const struct gpv_xml_node *node);

/*
 * The first element that path leads to from node, or NULL. A path is element names separated
 * by '/', each optionally followed by one predicate on an attribute: "devices/disk[@device=
 * 'cdrom']/target". Names match the local name, whatever the namespace.
 */
struct gpv_xml_node *gpv_xml_find(struct gpv_xml_node *node, const char *path);
/* How many elements path leads to from node (every match of the last step, under the first
 * match of the others). */
size_t gpv_xml_count(struct gpv_xml_node *node, const char *path);
/* Child elements in order: the first child named name (any element when name is NULL), and the
 * next sibling of the same kind. */
struct gpv_xml_node *gpv_xml_child(struct gpv_xml_node *node, const char *name);
struct gpv_xml_node *gpv_xml_next(struct gpv_xml_node *node, const char *name);

/* An attribute without namespace, or NULL when absent. The string belongs to the node and is
 * valid until the attribute is set again. */
const char *gpv_xml_attr(const struct gpv_xml_node *node, const char *name);
/* Sets (value not NULL) or removes (value NULL) an attribute. */
int gpv_xml_set_attr(struct gpv_xml_node *node, const char *name, const char *value);
/* The element's text content, whitespace at both ends removed; the caller frees *ret. */
int gpv_xml_text(const struct gpv_xml_node *node, char **ret);
/* Replaces the element's children with text (taken literally: '<' and '&' are escaped). */
int gpv_xml_set_text(struct gpv_xml_node *node, const char *text);

/* Appends a child element (with text, when not NULL); *ret (may be NULL) points into the
 * document. */
int gpv_xml_add(
	struct gpv_xml_node *parent, const char *name, const char *text, struct gpv_xml_node **ret);
/* The element path leads to from node, created (with its missing parents) when absent; path
 * takes no predicates here. */
int gpv_xml_ensure(struct gpv_xml_node *node, const char *path, struct gpv_xml_node **ret);
/* Unlinks and frees node and everything under it; NULL-safe. */
void gpv_xml_remove(struct gpv_xml_node *node);

/* The document as indented text, without the XML declaration; the caller frees *ret. */
int gpv_xml_format(struct gpv_xml_doc *doc, char **ret);
