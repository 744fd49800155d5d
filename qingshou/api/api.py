from ninja import NinjaAPI

api = NinjaAPI(title="qingshou API", version="1", urls_namespace="api")
