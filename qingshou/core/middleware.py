"""Chinese first: pages are in Simplified Chinese unless the user chose another language.

Django's LocaleMiddleware would follow the browser's Accept-Language, so an office PC set up in
English would show English pages to a collector who never asked for them. For pages we ignore that
header; the language switch in the header (set_language, a cookie) is the way to English. The API
keeps honouring Accept-Language, since machine clients ask for what they parse.
"""


class ChineseFirstMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
