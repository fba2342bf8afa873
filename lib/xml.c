/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that speaks libxml2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "lib/dl.h"
#include "lib/log.h"
#include "lib/root.h"
#include "lib/util.h"
#include "lib/xml.h"

/* Templates and quirk files are small; anything bigger is a mistake. */
#define XML_MAX (4 * 1024 * 1024)

/* libxml2 is opened on first use (lib/dl.h). */
static GPV_DL_SYM(xmlNewParserCtxt);
static GPV_DL_SYM(xmlFreeParserCtxt);
static GPV_DL_SYM(xmlCtxtReadMemory);
static GPV_DL_SYM(xmlCtxtGetLastError);
static GPV_DL_SYM(xmlNewDoc);
static GPV_DL_SYM(xmlFreeDoc);
static GPV_DL_SYM(xmlCopyDoc);
static GPV_DL_SYM(xmlNewDocNode);
static GPV_DL_SYM(xmlNewDocText);
static GPV_DL_SYM(xmlDocSetRootElement);
static GPV_DL_SYM(xmlAddChild);
static GPV_DL_SYM(xmlUnlinkNode);
static GPV_DL_SYM(xmlFreeNode);
static GPV_DL_SYM(xmlSetProp);
static GPV_DL_SYM(xmlUnsetProp);
static GPV_DL_SYM(xmlBufferCreate);
static GPV_DL_SYM(xmlBufferFree);
static GPV_DL_SYM(xmlBufferContent);
static GPV_DL_SYM(xmlNodeDump);
static int xml_state;

static int xml_open(void)
{
	static const struct gpv_dl_sym syms[] = {
		GPV_DL_ENTRY(xmlNewParserCtxt),
		GPV_DL_ENTRY(xmlFreeParserCtxt),
		GPV_DL_ENTRY(xmlCtxtReadMemory),
		GPV_DL_ENTRY(xmlCtxtGetLastError),
		GPV_DL_ENTRY(xmlNewDoc),
		GPV_DL_ENTRY(xmlFreeDoc),
		GPV_DL_ENTRY(xmlCopyDoc),
		GPV_DL_ENTRY(xmlNewDocNode),
		GPV_DL_ENTRY(xmlNewDocText),
		GPV_DL_ENTRY(xmlDocSetRootElement),
		GPV_DL_ENTRY(xmlAddChild),
		GPV_DL_ENTRY(xmlUnlinkNode),
		GPV_DL_ENTRY(xmlFreeNode),
		GPV_DL_ENTRY(xmlSetProp),
		GPV_DL_ENTRY(xmlUnsetProp),
		GPV_DL_ENTRY(xmlBufferCreate),
		GPV_DL_ENTRY(xmlBufferFree),
		GPV_DL_ENTRY(xmlBufferContent),
		GPV_DL_ENTRY(xmlNodeDump),
	};

	return gpv_dl_open(GPV_LIBXML_SONAME, syms, ELEMENTSOF(syms), &xml_state);
}

/* The public types are libxml2's own, behind names that keep libxml2 out of every header. */
#define DOC(d) ((xmlDocPtr)(d))
#define NODE(n) ((xmlNodePtr)(n))
#define GNODE(n) ((struct gpv_xml_node *)(n))

static void set_error(struct gpv_xml_error *err, int line, const char *message)
{
	if (!err)
		return;
	err->line = line;
	snprintf(err->message, sizeof(err->message), "%s", message);
	gpv_strip(err->message);
}

/* libxml2 goes on after an error and reports what follows from it: keep the first, which is
 * where the file is wrong. */
static void first_error(void *data, xmlErrorPtr e)
{
	struct gpv_xml_error *err = ((xmlParserCtxtPtr)data)->_private;

	if (err->message[0] || !e || e->level < XML_ERR_ERROR)
		return;
	set_error(err, e->line, e->message ? e->message : "malformed XML");
}

int gpv_xml_parse_memory(const char *buf, size_t len, const char *name, struct gpv_xml_doc **ret,
	struct gpv_xml_error *err)
{
	/* No network, no DTD, no entity substitution (XML_PARSE_NOENT is deliberately off), and
	 * no printing: the error is handed back instead. NOBLANKS lets the output be indented. */
	const int options = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
	struct gpv_xml_error first = {0};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	int r = xml_open();

	if (r < 0)
		return r;
	if (len > XML_MAX)
		return -EFBIG;
	ctxt = sym_xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	/* The handler gets the context as its data (userData is the context itself). */
	ctxt->_private = &first;
	ctxt->sax->serror = first_error;
	doc = sym_xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL, options);
	if (!doc || !doc->children || first.message[0]) {
		const xmlError *e = sym_xmlCtxtGetLastError(ctxt);

		if (!first.message[0])
			set_error(&first, e && e->message ? e->line : 0,
				e && e->message ? e->message : "not an XML document");
		gpv_debug("xml: %s:%d: %s", name ? name : "(memory)", first.line, first.message);
		if (err)
			*err = first;
		if (doc)
			sym_xmlFreeDoc(doc);
		sym_xmlFreeParserCtxt(ctxt);
		return -EINVAL;
	}
	sym_xmlFreeParserCtxt(ctxt);
	*ret = (struct gpv_xml_doc *)doc;
	return 0;
}

int gpv_xml_parse_file(const char *path, struct gpv_xml_doc **ret, struct gpv_xml_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = gpv_read_at(AT_FDCWD, path, XML_MAX, &buf, &len);

	if (r < 0) {
		set_error(err, 0, strerror(-r));
		return r;
	}
	return gpv_xml_parse_memory(buf, len, path, ret, err);
}

int gpv_xml_new(const char *root_name, struct gpv_xml_doc **ret)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int r = xml_open();

	if (r < 0)
		return r;
	doc = sym_xmlNewDoc(BAD_CAST "1.0");
	if (!doc)
		return -ENOMEM;
	root = sym_xmlNewDocNode(doc, NULL, BAD_CAST root_name, NULL);
	if (!root) {
		sym_xmlFreeDoc(doc);
		return -ENOMEM;
	}
	sym_xmlDocSetRootElement(doc, root);
	*ret = (struct gpv_xml_doc *)doc;
	return 0;
}

int gpv_xml_copy(const struct gpv_xml_doc *doc, struct gpv_xml_doc **ret)
{
	xmlDocPtr copy;
	int r = xml_open();

	if (r < 0)
		return r;
	copy = sym_xmlCopyDoc((xmlDocPtr)doc, 1);
	if (!copy)
		return -ENOMEM;
	*ret = (struct gpv_xml_doc *)copy;
	return 0;
}

struct gpv_xml_doc *gpv_xml_free(struct gpv_xml_doc *doc)
{
	/* A document exists only once libxml2 is loaded. */
	if (doc)
		sym_xmlFreeDoc(DOC(doc));
	return NULL;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

struct gpv_xml_node *gpv_xml_root(struct gpv_xml_doc *doc)
{
	return doc ? GNODE(first_element(DOC(doc)->children)) : NULL;
}

const char *gpv_xml_name(const struct gpv_xml_node *node)
{
	return node ? (const char *)NODE(node)->name : NULL;
}

const char *gpv_xml_ns(const struct gpv_xml_node *node)
{
	return node && NODE(node)->ns ? (const char *)NODE(node)->ns->href : NULL;
}

static xmlAttrPtr find_attr(const struct gpv_xml_node *node, const char *name)
{
	for (xmlAttrPtr a = NODE(node)->properties; a; a = a->next)
		if (!a->ns && streq((const char *)a->name, name))
			return a;
	return NULL;
}

const char *gpv_xml_attr(const struct gpv_xml_node *node, const char *name)
{
	xmlAttrPtr a = node ? find_attr(node, name) : NULL;

	/* An attribute holds one text node unless it had entity references, which the parser
	 * leaves unsubstituted: those attributes read as absent. */
	if (!a)
		return NULL;
	if (!a->children)
		return "";
	if (a->children->type != XML_TEXT_NODE || a->children->next)
		return NULL;
	return (const char *)a->children->content;
}

/* One step of a path: a name, and an optional [@attr='value'] predicate. */
struct step {
	char name[64], attr[64], value[128];
	bool pred;
};

static int parse_step(const char **p, struct step *s)
{
	const char *c = *p;
	size_t n = strcspn(c, "/[");

	*s = (struct step){0};
	if (n == 0 || n >= sizeof(s->name))
		return -EINVAL;
	memcpy(s->name, c, n);
	c += n;
	if (*c == '[') {
		const char *eq, *q, *end;
		char quote;

		if (c[1] != '@' || !(eq = strchr(c, '=')) ||
			(size_t)(eq - c - 2) >= sizeof(s->attr))
			return -EINVAL;
		memcpy(s->attr, c + 2, (size_t)(eq - c - 2));
		quote = eq[1];
		if (quote != '\'' && quote != '"')
			return -EINVAL;
		q = eq + 2;
		end = strchr(q, quote);
		if (!end || end[1] != ']' || (size_t)(end - q) >= sizeof(s->value))
			return -EINVAL;
		memcpy(s->value, q, (size_t)(end - q));
		s->pred = true;
		c = end + 2;
	}
	if (*c == '/')
		c++;
	else if (*c)
		return -EINVAL;
	*p = c;
	return 0;
}

static bool step_matches(const struct step *s, xmlNodePtr n)
{
	if (n->type != XML_ELEMENT_NODE || !streq((const char *)n->name, s->name))
		return false;
	return !s->pred || streq(gpv_xml_attr(GNODE(n), s->attr), s->value);
}

/* Walks path from node; *ret_last gets the last step and its parent, for counting. */
static xmlNodePtr walk(xmlNodePtr node, const char *path, struct step *last, xmlNodePtr *ret_parent)
{
	const char *p = path;

	while (node && *p) {
		struct step s;
		xmlNodePtr c;

		if (parse_step(&p, &s) < 0) {
			gpv_debug("xml: bad path '%s'", path);
			return NULL;
		}
		for (c = node->children; c && !step_matches(&s, c); c = c->next)
			;
		if (!*p) {
			*last = s;
			*ret_parent = node;
		}
		node = c;
	}
	return node;
}

struct gpv_xml_node *gpv_xml_find(struct gpv_xml_node *node, const char *path)
{
	struct step last;
	xmlNodePtr parent;

	return node ? GNODE(walk(NODE(node), path, &last, &parent)) : NULL;
}

size_t gpv_xml_count(struct gpv_xml_node *node, const char *path)
{
	struct step last;
	xmlNodePtr parent = NULL, first;
	size_t n = 0;

	if (!node)
		return 0;
	first = walk(NODE(node), path, &last, &parent);
	for (xmlNodePtr c = first; c; c = c->next)
		if (step_matches(&last, c))
			n++;
	return n;
}

struct gpv_xml_node *gpv_xml_next(struct gpv_xml_node *node, const char *name)
{
	for (xmlNodePtr n = node ? NODE(node)->next : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && (!name || streq((const char *)n->name, name)))
			return GNODE(n);
	return NULL;
}

struct gpv_xml_node *gpv_xml_child(struct gpv_xml_node *node, const char *name)
{
	xmlNodePtr c = node ? NODE(node)->children : NULL;

	for (; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && (!name || streq((const char *)c->name, name)))
			return GNODE(c);
	return NULL;
}

int gpv_xml_set_attr(struct gpv_xml_node *node, const char *name, const char *value)
{
	if (!value) {
		if (find_attr(node, name))
			sym_xmlUnsetProp(NODE(node), BAD_CAST name);
		return 0;
	}
	/* xmlSetProp stores value as one literal text node: nothing in it is parsed. */
	return sym_xmlSetProp(NODE(node), BAD_CAST name, BAD_CAST value) ? 0 : -ENOMEM;
}

int gpv_xml_text(const struct gpv_xml_node *node, char **ret)
{
	size_t len = 0, at = 0;
	char *s, *start;

	for (xmlNodePtr c = NODE(node)->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			len += strlen((const char *)c->content);
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	for (xmlNodePtr c = NODE(node)->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
			size_t n = strlen((const char *)c->content);

			memcpy(s + at, c->content, n);
			at += n;
		}
	s[at] = '\0';
	gpv_strip(s);
	for (start = s; *start == ' ' || *start == '\t' || *start == '\n' || *start == '\r';)
		start++;
	memmove(s, start, strlen(start) + 1);
	*ret = s;
	return 0;
}

int gpv_xml_set_text(struct gpv_xml_node *node, const char *text)
{
	xmlNodePtr t;

	while (NODE(node)->children) {
		xmlNodePtr c = NODE(node)->children;

		sym_xmlUnlinkNode(c);
		sym_xmlFreeNode(c);
	}
	t = sym_xmlNewDocText(NODE(node)->doc, BAD_CAST text);
	if (!t)
		return -ENOMEM;
	if (!sym_xmlAddChild(NODE(node), t)) {
		sym_xmlFreeNode(t);
		return -ENOMEM;
	}
	return 0;
}

int gpv_xml_add(
	struct gpv_xml_node *parent, const char *name, const char *text, struct gpv_xml_node **ret)
{
	xmlNodePtr n = sym_xmlNewDocNode(NODE(parent)->doc, NULL, BAD_CAST name, NULL);
	int r;

	if (!n)
		return -ENOMEM;
	if (!sym_xmlAddChild(NODE(parent), n)) {
		sym_xmlFreeNode(n);
		return -ENOMEM;
	}
	if (text && (r = gpv_xml_set_text(GNODE(n), text)) < 0)
		return r;
	if (ret)
		*ret = GNODE(n);
	return 0;
}

int gpv_xml_ensure(struct gpv_xml_node *node, const char *path, struct gpv_xml_node **ret)
{
	const char *p = path;

	while (*p) {
		struct step s;
		struct gpv_xml_node *c;
		int r = parse_step(&p, &s);

		if (r < 0 || s.pred)
			return -EINVAL;
		c = gpv_xml_child(node, s.name);
		if (!c && (r = gpv_xml_add(node, s.name, NULL, &c)) < 0)
			return r;
		node = c;
	}
	if (ret)
		*ret = node;
	return 0;
}

void gpv_xml_remove(struct gpv_xml_node *node)
{
	if (!node)
		return;
	sym_xmlUnlinkNode(NODE(node));
	sym_xmlFreeNode(NODE(node));
}

int gpv_xml_format(struct gpv_xml_doc *doc, char **ret)
{
	xmlBufferPtr buf;
	xmlNodePtr root = NODE(gpv_xml_root(doc));
	char *s;

	if (!root)
		return -EINVAL;
	buf = sym_xmlBufferCreate();
	if (!buf)
		return -ENOMEM;
	if (sym_xmlNodeDump(buf, DOC(doc), root, 0, 1) < 0) {
		sym_xmlBufferFree(buf);
		return -ENOMEM;
	}
	s = gpv_strf("%s\n", (const char *)sym_xmlBufferContent(buf));
	sym_xmlBufferFree(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}
